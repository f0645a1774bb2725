"""``watch <topic>`` and ``unwatch <topic>``: a topic's messages relayed into the room.

The relaying itself, with its rate limit, is :mod:`micro_bot.watch`.
"""

from __future__ import annotations

from micro_bot.commands.base import Command, Request


class Watch(Command):
    name = "watch"
    pattern = r"watch(?:\s+(?P<topic>\S+))?"
    usage = "watch [topic]"
    description = "relay a topic's messages here (rate limited), or list what is watched here"

    async def run(self, request: Request) -> str:
        topic = request.group("topic")
        if not topic:
            topics = request.watches.topics(request.conversation)
            return "watching " + ", ".join(f"`{t}`" for t in topics) if topics else "watching nothing here"
        if not await request.watches.start(request.conversation, topic, request.say):
            return f"already watching `{topic}` here"
        rate = request.watches.rate
        return f"watching `{topic}` here (at most {rate:g} message(s)/s); `unwatch {topic}` stops it"


class Unwatch(Command):
    name = "unwatch"
    pattern = r"unwatch\s+(?P<topic>\S+)"
    usage = "unwatch <topic>"
    description = "stop relaying a topic here"

    async def run(self, request: Request) -> str:
        topic = request.group("topic")
        if await request.watches.stop(request.conversation, topic):
            return f"stopped watching `{topic}`"
        return f"`{topic}` is not watched here"


__all__ = ["Unwatch", "Watch"]
