"""``micro bot``: the click command behind the ``micro.components`` entry point.

Its flags are the bot's settings and those of every installed input; the kernel's
settings come from ``micro``'s global flags (the root context's ``obj.flags``), so
``micro --registry consul bot --inputs xmpp`` finds services as ``micro --registry
consul services`` does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Mapping
from typing import Any

import click

from micro_bot.bot import Bot
from micro_bot.inputs.base import InputNotFound, input_class, input_names
from micro_bot.settings import BOT_OPTIONS, flag, resolve
from micro_core import Option, run

log = logging.getLogger("micro.bot")


def _installed_options() -> list[Option]:
    """The bot's settings and those of each installed input that loads (a broken one is logged)."""
    declared = list(BOT_OPTIONS)
    for name in input_names():
        try:
            declared += input_class(name).options
        except InputNotFound as exc:
            log.warning("%s", exc)
    return declared


def _root_flags() -> Mapping[str, str]:
    """``micro``'s global flags as given (option name → text), when run under ``micro``."""
    root = click.get_current_context().find_root()
    flags = getattr(root.obj, "flags", None)
    return dict(flags) if isinstance(flags, Mapping) else {}


async def _serve(bot: Bot) -> None:
    """Run the bot until an input ends, SIGINT or SIGTERM."""
    task = asyncio.ensure_future(bot.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        log.info("bot stopped")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _command(declared: list[Option]) -> click.Command:
    def main(**given: Any) -> None:
        """Answer chat commands on the chosen inputs (xmpp, slack, console…).

        \b
        micro bot --inputs xmpp --xmpp-jid bot@example.org --allow-users alice@example.org
        MICRO_BOT_INPUTS=console micro bot
        """
        logging.basicConfig(
            level=os.environ.get("MICRO_LOG_LEVEL", "INFO").upper(), format="%(name)s: %(message)s"
        )
        flags = {**_root_flags(), **{name: text for name, text in given.items() if text is not None}}
        try:
            options = resolve(declared, flags)
            bot = Bot.from_options(options)
        except (ValueError, InputNotFound) as exc:
            raise click.UsageError(str(exc)) from None
        except (ImportError, TypeError) as exc:  # an installed command is broken: name it, in one line
            raise click.ClickException(str(exc)) from None
        try:
            run(_serve(bot))
        except ConnectionError as exc:  # an input or the registry cannot be reached: say which, in one line
            raise click.ClickException(str(exc)) from None

    params: list[click.Parameter] = [
        click.Option(
            [option.name, flag(option)],
            default=None,
            metavar="TEXT",
            help=f"{option.help} [env: {option.env}]",
        )
        for option in declared
    ]
    return click.Command("bot", callback=main, params=params, help=main.__doc__)


#: The ``micro bot`` command.
bot = _command(_installed_options())

__all__ = ["bot"]
