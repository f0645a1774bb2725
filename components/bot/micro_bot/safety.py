"""Who may do what, how often: allowlists, admins, confirmation of changes, per-user rate limits.

The bot answers people it was told to trust, in rooms it was told to be in. A command
that changes the system (``register``, ``deregister``, ``publish``) is read back to
the user and runs only after they answer ``yes``, so a typo in a channel never
deregisters a service.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from micro_bot.chat import Conversation

#: Answers that confirm a pending change; anything else cancels it.
YES = frozenset({"yes", "y"})


@dataclass(frozen=True)
class Policy:
    """The allowlists and the admins; an empty allowlist lets everyone (or every room) in.

    Users and rooms are written as the chat names them (``alice@example.org``,
    ``U024BE7LH``), optionally as ``input:name`` to mean one input only.
    """

    users: frozenset[str] = frozenset()
    rooms: frozenset[str] = frozenset()
    admins: frozenset[str] = frozenset()

    @classmethod
    def of(cls, users: Iterable[str] = (), rooms: Iterable[str] = (), admins: Iterable[str] = ()) -> Policy:
        return cls(frozenset(users), frozenset(rooms), frozenset(admins))

    @staticmethod
    def _listed(names: frozenset[str], input: str, name: str) -> bool:
        return name in names or f"{input}:{name}" in names

    def refusal(self, conversation: Conversation) -> str | None:
        """Why the sender may not use the bot here, or None when they may."""
        where = conversation
        if self.users and not self._listed(self.users, where.input, where.user):
            return f"sorry, {where.user} is not on this bot's list of users"
        if where.room is not None and self.rooms and not self._listed(self.rooms, where.input, where.room):
            return f"sorry, this bot does not take commands in {where.room}"
        return None

    def is_admin(self, conversation: Conversation) -> bool:
        return self._listed(self.admins, conversation.input, conversation.user)


class RateLimit:
    """At most ``count`` commands per user in any ``period`` seconds (a sliding window)."""

    def __init__(self, count: int, period: float) -> None:
        if count < 1 or not period > 0:
            raise ValueError(f"a rate limit needs a count >= 1 and a positive period, not {count}/{period}")
        self.count = count
        self.period = period
        self._seen: dict[tuple[str, str], deque[float]] = {}

    def allow(self, conversation: Conversation) -> float:
        """0 when the user may run a command now (it is counted), else the seconds to wait."""
        now = time.monotonic()
        seen = self._seen.setdefault((conversation.input, conversation.user), deque())
        while seen and seen[0] <= now - self.period:
            seen.popleft()
        if len(seen) >= self.count:
            return seen[0] + self.period - now
        seen.append(now)
        return 0.0


@dataclass
class _Pending:
    text: str
    expires: float


@dataclass
class Confirmations:
    """Changes waiting for their user's ``yes``, one per user and conversation, for ``ttl`` seconds."""

    ttl: float = 60.0
    _pending: dict[tuple[str, str, str | None], _Pending] = field(default_factory=dict)

    @staticmethod
    def _key(conversation: Conversation) -> tuple[str, str, str | None]:
        return (conversation.input, conversation.user, conversation.room)

    def ask(self, conversation: Conversation, text: str) -> None:
        """Remember ``text`` (the command) until the user answers or ``ttl`` passes."""
        self._pending[self._key(conversation)] = _Pending(text, time.monotonic() + self.ttl)

    def answer(self, conversation: Conversation, text: str) -> tuple[bool, str] | None:
        """For a user with a change pending: (confirmed?, the command); else None."""
        pending = self._pending.pop(self._key(conversation), None)
        if pending is None or pending.expires < time.monotonic():
            return None
        return text.strip().lower() in YES, pending.text


__all__ = ["YES", "Confirmations", "Policy", "RateLimit"]
