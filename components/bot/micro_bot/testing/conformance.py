"""What every bot input must do, checked against its real chat (or a stand-in for it).

Subclass :class:`InputConformance` and provide two fixtures: ``bot_input``, a new
input connected to the chat, and ``person``, a :class:`Person` on the same chat who
talks to the bot. The suite runs a real :class:`~micro_bot.Bot` (with the built-in
commands) on the test's memory drivers::

    class TestAcmeInput(InputConformance):
        @pytest.fixture
        def bot_input(self, acme_server):
            return AcmeInput(acme_server.url, token="t")

        @pytest.fixture
        def person(self, acme_server):
            return acme_server
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from micro_bot.safety import Policy


@dataclass(frozen=True)
class Heard:
    """A message from the bot: to ``user`` directly, or into ``room``."""

    text: str
    user: str | None = None
    room: str | None = None


class Person(Protocol):
    """Somebody on the chat, as the suite needs them."""

    async def say(self, text: str, *, user: str, room: str | None = None) -> None:
        """Send ``text`` to the bot as ``user``, directly or in ``room``."""

    async def heard(self, timeout: float = 10.0) -> Heard:
        """The next message the bot sent; ``TimeoutError`` if none comes within ``timeout`` seconds."""


class InputConformance:
    """The suite; the fixtures ``bot_input`` and ``person`` come from the subclass."""

    async def test_a_direct_message_is_answered_to_its_sender(
        self, micro_bot_on: Any, bot_input: Any, person: Person
    ) -> None:
        await micro_bot_on(bot_input)
        await person.say("ping", user="alice")
        assert await person.heard() == Heard("pong", user="alice")

    async def test_a_room_message_is_answered_in_the_room(
        self, micro_bot_on: Any, bot_input: Any, person: Person
    ) -> None:
        await micro_bot_on(bot_input)
        await person.say("echo said in the room", user="alice", room="ops")
        assert await person.heard() == Heard("said in the room", room="ops")

    async def test_the_sender_is_named_as_allowlists_name_them(
        self, micro_bot_on: Any, bot_input: Any, person: Person
    ) -> None:
        await micro_bot_on(bot_input, policy=Policy.of(users=["alice"]))
        await person.say("ping", user="mallory")
        assert await person.heard() == Heard(
            "sorry, mallory is not on this bot's list of users", user="mallory"
        )
        await person.say("ping", user="alice")
        assert await person.heard() == Heard("pong", user="alice")

    async def test_a_long_reply_arrives_whole(
        self, micro_bot_on: Any, bot_input: Any, person: Person
    ) -> None:
        await micro_bot_on(bot_input)
        text = " ".join(f"word{n}" for n in range(250))
        await person.say(f"echo {text}", user="alice")
        assert (await person.heard()).text == text


__all__ = ["Heard", "InputConformance", "Person"]
