"""Topics relayed into rooms: ``watch <topic>`` until ``unwatch <topic>``, at a bounded rate.

A watch is a broadcast subscription (no queue group, so it never takes messages from
the services that consume the topic) whose messages are posted to the conversation
that asked, in a thread where the chat has them. A busy topic must not flood a room:
each watch posts at most ``rate`` messages a second (bursts up to ``burst``) and says
how many it skipped in its next post.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import msgspec

from micro_bot.chat import Conversation
from micro_bot.commands.base import Say
from micro_bot.formatting import one_line
from micro_core import Broker, Event
from micro_core.broker import Subscription

log = logging.getLogger("micro.bot.watch")

#: Longest relayed message, in characters; a topic's message is a line in a room, not a page.
RELAY_CHARS = 500


@dataclass
class _Bucket:
    """A token bucket: ``rate`` tokens a second, holding at most ``burst``."""

    rate: float
    burst: float
    tokens: float
    stamp: float

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class _Watch:
    def __init__(self, topic: str, say: Say, bucket: _Bucket) -> None:
        self.topic = topic
        self._say = say
        self._bucket = bucket
        self.skipped = 0
        self.subscription: Subscription | None = None

    async def relay(self, event: Event) -> None:
        if not self._bucket.take():
            self.skipped += 1
            return
        try:
            body = msgspec.json.encode(msgspec.json.decode(event.message.body)).decode()
        except msgspec.DecodeError:
            body = event.message.body.decode(errors="replace")
        note = f" ({self.skipped} skipped: rate limit)" if self.skipped else ""
        self.skipped = 0
        try:
            await self._say(f"`{self.topic}`{note}: {one_line(body, RELAY_CHARS)}", True)
        except Exception:  # a chat that is briefly away must not make the broker redeliver forever
            log.warning("could not relay a %s message", self.topic, exc_info=True)


def _key(conversation: Conversation, topic: str) -> tuple[str, str, str]:
    return (conversation.input, conversation.room or conversation.user, topic)


class Watches:
    """The watches of one bot, by conversation and topic."""

    def __init__(self, broker: Broker, rate: float = 1.0, burst: int = 5) -> None:
        if not rate > 0 or burst < 1:
            raise ValueError(f"a watch needs a positive rate and a burst >= 1, not {rate}/{burst}")
        self._broker = broker
        self.rate = rate
        self.burst = burst
        self._watches: dict[tuple[str, str, str], _Watch] = {}

    def topics(self, conversation: Conversation) -> list[str]:
        """The topics watched into ``conversation``."""
        where = _key(conversation, "")[:2]
        return sorted(key[2] for key in self._watches if key[:2] == where)

    async def start(self, conversation: Conversation, topic: str, say: Say) -> bool:
        """Relay ``topic`` into ``conversation``; False if it already is."""
        key = _key(conversation, topic)
        if key in self._watches:
            return False
        watch = _Watch(topic, say, _Bucket(self.rate, self.burst, self.burst, time.monotonic()))
        self._watches[key] = watch
        try:
            watch.subscription = await self._broker.subscribe(topic, watch.relay)
        except BaseException:
            del self._watches[key]
            raise
        return True

    async def stop(self, conversation: Conversation, topic: str) -> bool:
        """Stop relaying ``topic`` into ``conversation``; False if it was not."""
        watch = self._watches.pop(_key(conversation, topic), None)
        if watch is None:
            return False
        if watch.subscription is not None:
            await watch.subscription.unsubscribe()
        return True

    async def close(self) -> None:
        """Stop every watch."""
        watches, self._watches = list(self._watches.values()), {}
        for watch in watches:
            if watch.subscription is not None:
                await watch.subscription.unsubscribe()


__all__ = ["RELAY_CHARS", "Watches"]
