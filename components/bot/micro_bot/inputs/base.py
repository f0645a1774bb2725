"""What every input does: bring people's messages to the bot and carry its replies back.

Inputs are found through the ``micro.bot.inputs`` entry point, by name. Each declares
its settings as :class:`~micro_core.Option` values named ``bot_<input>_<setting>``:
``micro bot`` turns each into a flag (``--<input>-<setting>``) and reads it from
``MICRO_BOT_<INPUT>_<SETTING>`` too.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable, Callable
from importlib.metadata import entry_points
from typing import ClassVar

from micro_bot.chat import ChatMessage, Conversation
from micro_core import Option, Options

#: Entry-point group of the inputs (``xmpp = micro_bot.inputs.xmpp:XMPPInput``).
INPUTS_GROUP = "micro.bot.inputs"

#: What an input calls with each message it receives; returns once the message is handled.
Receive = Callable[[ChatMessage], Awaitable[None]]


class InputNotFound(LookupError):
    """An input named in ``--inputs`` is not installed, or its module failed to import."""


class Input(abc.ABC):
    """One chat the bot lives in; an instance is built by :meth:`from_options` and started once."""

    #: The input's name, as chosen with ``--inputs``.
    name: ClassVar[str]
    #: The settings of this input, each named ``bot_<name>_<setting>``.
    options: ClassVar[tuple[Option, ...]] = ()

    @classmethod
    @abc.abstractmethod
    def from_options(cls, options: Options) -> Input:
        """Build the input from resolved settings; raise ``ValueError`` naming a missing one."""

    @abc.abstractmethod
    async def start(self, receive: Receive) -> None:
        """Connect and begin handing messages to ``receive``; return once connected."""

    @abc.abstractmethod
    async def send(self, conversation: Conversation, text: str, *, thread: bool = False) -> None:
        """Send ``text`` to ``conversation``; with ``thread`` (long output, a watch's relays), into a
        thread under the message that asked, where the chat has threads (else as usual)."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Disconnect and stop receiving."""

    async def finished(self) -> None:
        """Return when the input has ended on its own (a console at end of input); most never do."""
        await asyncio.Event().wait()


def input_class(name: str) -> type[Input]:
    """The installed input called ``name``; :class:`InputNotFound` names what is installed."""
    found = {ep.name: ep for ep in entry_points(group=INPUTS_GROUP)}
    if name not in found:
        raise InputNotFound(f"no bot input {name!r}; installed: {', '.join(sorted(found)) or 'none'}")
    try:
        cls = found[name].load()
    except Exception as exc:
        raise InputNotFound(f"bot input {name!r} failed to load: {type(exc).__name__}: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Input)):
        raise InputNotFound(f"bot input {name!r} ({found[name].value}) is not a micro_bot Input class")
    return cls


def input_names() -> list[str]:
    """The names of the installed inputs."""
    return sorted(ep.name for ep in entry_points(group=INPUTS_GROUP))


__all__ = ["INPUTS_GROUP", "Input", "InputNotFound", "Receive", "input_class", "input_names"]
