"""Each built-in command, used as an operator would, through ``micro_bot.testing``'s in-memory input.

Services run in-process on the test's private memory drivers (``micro_service``).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from micro_bot import Policy
from micro_core.registry import Node
from micro_core.registry import Service as Entry
from micro_core.testing import EventRecorder

ADMIN = Policy.of(admins=["root"])


@dataclass
class Order:
    item: str
    count: int
    express: bool = False
    tags: list[str] = field(default_factory=list)


@dataclass
class Placed:
    summary: str


class Shop:
    async def place(self, order: Order) -> Placed:
        tags = ",".join(order.tags)
        return Placed(f"{order.count} x {order.item} express={order.express} tags={tags}")


async def test_command_help(micro_bot):
    chat = await micro_bot()
    listing = await chat.say("help")
    assert "call <service> <endpoint>" in listing and "register" in listing and "(admins)" in listing
    assert await chat.say("help ping") == "`ping`: check that the bot answers"
    assert "no command 'nope'" in await chat.say("help nope")


async def test_command_ping(micro_bot):
    chat = await micro_bot()
    assert await chat.say("ping") == "pong"
    assert await chat.say("PING") == "pong", "commands are matched case-insensitively"


async def test_command_echo(micro_bot):
    chat = await micro_bot()
    assert await chat.say("echo hello   there") == "hello there"
    assert await chat.say("echo") == "usage: `echo <text>`"


async def test_command_time(micro_bot):
    chat = await micro_bot()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", await chat.say("time"))


async def test_command_hello(micro_bot):
    chat = await micro_bot()
    assert (await chat.say("hi there", user="ada")).startswith("hello ada")


async def test_command_services(micro_bot, micro_service):
    chat = await micro_bot()
    assert await chat.say("services") == "no services are registered"
    await micro_service(Shop(), name="shop")
    assert "shop" in await chat.say("services")


async def test_command_describe(micro_bot, micro_service):
    chat = await micro_bot()
    await micro_service(Shop(), name="shop")
    described = await chat.say("describe shop")
    assert "Shop.Place(Order{item string, count int64, express bool, tags []string}) -> Placed" in described
    assert "error: " in await chat.say("describe nothing")


async def test_command_call(micro_bot, micro_service):
    chat = await micro_bot()
    await micro_service(Shop(), name="shop")
    typed = await chat.say("call shop Shop.Place item=tea count=2 express=yes tags=green,loose")
    assert "2 x tea express=True tags=green,loose" in typed
    quoted = await chat.say('call shop shop.place item="earl grey" count=1')
    assert "1 x earl grey" in quoted, "endpoint names are matched case-insensitively, quotes kept"
    assert await chat.say("call shop Shop.Place count=two") == (
        "count is int64: invalid literal for int() with base 10: 'two'; "
        "usage: `call <service> <endpoint> [{json} | field=value ... | help]`"
    )
    assert "is not field=value" in await chat.say("call shop Shop.Place tea")
    fields = await chat.say("call shop Shop.Place help")
    assert "count  int64" in fields and "tags  []string" in fields
    missing = await chat.say("call shop Shop.Place item=tea")
    assert missing.startswith("error: ") and "count" in missing and "\n" not in missing


async def test_command_health(micro_bot, micro_service):
    chat = await micro_bot()
    service = await micro_service(Shop(), name="shop")
    health = await chat.say("health shop")
    assert service.id in health and "ok" in health
    gone = Entry("shop", "latest", nodes=[Node("shop-gone", f"{service.address}-gone")])
    await service.registry.register(gone, 30)
    both = await chat.say("health shop")
    assert "shop-gone" in both and "failing: " in both and "ok" in both


async def test_command_stats(micro_bot, micro_service):
    chat = await micro_bot()
    await micro_service(Shop(), name="shop")
    await chat.say("call shop Shop.Place item=tea count=1")
    stats = await chat.say("stats shop")
    assert "MiB" in stats and "requests" in stats


async def test_command_publish(micro_bot, micro_service):
    chat = await micro_bot()
    service = await micro_service(name="listener")
    recorder = await EventRecorder.subscribe(service.broker, "orders")
    question = await chat.say('publish orders {"item": "tea"}')
    assert question.startswith('this will publish to `orders`: {"item": "tea"}. Answer `yes`')
    assert await chat.say("yes") == "published to `orders`"
    (event,) = await recorder.wait(1)
    assert event.message.body == b'{"item":"tea"}'
    assert "bad JSON message" in await chat.say("publish orders {item}")
    await recorder.close()


async def test_command_register(micro_bot, micro_service):
    chat = await micro_bot(policy=ADMIN)
    service = await micro_service(name="probe")
    definition = '{"name": "legacy", "nodes": [{"id": "legacy-1", "address": "10.0.0.5:8080"}]}'
    assert await chat.say(f"register {definition}", user="alice") == "sorry, `register` is for admins only"
    assert "Answer `yes`" in await chat.say(f"register {definition}", user="root")
    assert await chat.say("no", user="root") == f"cancelled: `register {definition}`"
    assert await chat.say(f"register {definition}", user="root")
    assert await chat.say("YES", user="root") == "registered legacy with 1 node(s)"
    assert [e.name for e in await service.registry.get_service("legacy")] == ["legacy"]


async def test_command_deregister(micro_bot, micro_service):
    chat = await micro_bot(policy=ADMIN)
    await micro_service(Shop(), name="shop")
    assert await chat.say("deregister shop", user="alice") == "sorry, `deregister` is for admins only"
    assert await chat.say("deregister shop", user="root") == (
        "this will deregister `shop`. Answer `yes` within 60s to go ahead."
    )
    assert await chat.say("yes", user="root") == "deregistered shop latest with 1 node(s)"
    assert "no services" in await chat.say("services", user="root")


async def test_command_watch(micro_bot, micro_service):
    chat = await micro_bot(watch_rate=2.0)
    service = await micro_service(name="publisher")
    assert await chat.say("watch alerts", room="#ops") == (
        "watching `alerts` here (at most 2 message(s)/s); `unwatch alerts` stops it"
    )
    assert await chat.say("watch", room="#ops") == "watching `alerts`"
    before = len(chat.sent)
    for n in range(12):  # a burst: five pass (the bucket's size), the rest are counted as skipped
        await service.client.publish("alerts", {"n": n})
    relayed = await chat.wait(before + 5)
    assert [s.text for s in relayed[before:]] == [f'`alerts`: {{"n":{n}}}' for n in range(5)]
    assert all(s.thread and s.conversation.room == "#ops" for s in relayed[before:])
    await asyncio.sleep(0.6)  # one more token
    await service.client.publish("alerts", {"n": 99})
    (late,) = (await chat.wait(before + 6))[before + 5 :]
    assert late.text == '`alerts` (7 skipped: rate limit): {"n":99}'


async def test_command_unwatch(micro_bot, micro_service):
    chat = await micro_bot()
    service = await micro_service(name="publisher")
    await chat.say("watch alerts")
    assert await chat.say("unwatch alerts") == "stopped watching `alerts`"
    assert await chat.say("unwatch alerts") == "`alerts` is not watched here"
    before = len(chat.sent)
    await service.client.publish("alerts", {"n": 1})
    await asyncio.sleep(0.2)
    assert len(chat.sent) == before, "nothing is relayed after unwatch"
