"""The ``slack`` input against a local stand-in for Slack (Slack cannot be reached from here).

The stand-in speaks what the bot uses: the Web API calls ``auth.test``,
``apps.connections.open`` and ``chat.postMessage`` (checking the tokens), and the
Socket Mode websocket (events in envelopes, acknowledged by envelope id). The bot is
a real ``micro bot`` process; the greeter and the ``oncall`` command run as processes,
and ``micro publish`` feeds a watched topic.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from micro_bot.inputs.slack import SlackInput
from micro_bot.testing.conformance import Heard, InputConformance

MICRO = str(Path(sys.executable).parent / "micro")
BOT_TOKEN, APP_TOKEN = "xoxb-stand-in", "xapp-stand-in"
BOT_USER = "UBOT"


class SlackStandIn:
    """Slack's Web API and Socket Mode as far as the bot uses them, on a loopback port."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self.acks: list[str] = []
        self._socket: web.WebSocketResponse | None = None
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._heard = 0  # how many posts the conformance suite has read
        self._rooms: set[str] = set()
        self.app = web.Application()
        self.app.router.add_post("/api/auth.test", self._auth_test)
        self.app.router.add_post("/api/apps.connections.open", self._connections_open)
        self.app.router.add_post("/api/chat.postMessage", self._post_message)
        self.app.router.add_get("/link", self._link)
        self.runner = web.AppRunner(self.app)
        self.port = 0

    async def start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @staticmethod
    def _authorized(request: web.Request, token: str) -> bool:
        return request.headers.get("Authorization") == f"Bearer {token}"

    async def _auth_test(self, request: web.Request) -> web.Response:
        if not self._authorized(request, BOT_TOKEN):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, "user_id": BOT_USER, "bot_id": "BBOT", "team_id": "T1"})

    async def _connections_open(self, request: web.Request) -> web.Response:
        if not self._authorized(request, APP_TOKEN):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"})

    async def _post_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request, BOT_TOKEN):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        body = (
            await request.json() if request.content_type == "application/json" else dict(await request.post())
        )
        async with self._changed:
            self.posted.append(body)
            self._changed.notify_all()
        return web.json_response({"ok": True, "channel": body["channel"], "ts": f"{len(self.posted)}.0"})

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1})
        async with self._changed:
            self._socket = socket
            self._changed.notify_all()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                async with self._changed:
                    self.acks.append(json.loads(message.data)["envelope_id"])
                    self._changed.notify_all()
        return socket

    async def event(self, **event: Any) -> str:
        """Deliver one Events API event to the bot, as Slack wraps it; returns its envelope id."""
        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(lambda: self._socket is not None)
        envelope = f"envelope-{next(self._ids)}"
        payload = {"type": "event_callback", "event": event}
        assert self._socket is not None
        await self._socket.send_json(
            {
                "envelope_id": envelope,
                "type": "events_api",
                "payload": payload,
                "accepts_response_payload": False,
            }
        )
        return envelope

    async def reply_to(self, **event: Any) -> dict[str, Any]:
        """Deliver ``event`` and return the one message the bot posts for it."""
        before = len(self.posted)
        envelope = await self.event(**event)
        async with asyncio.timeout(15), self._changed:
            await self._changed.wait_for(lambda: len(self.posted) > before and envelope in self.acks)
        return self.posted[before]

    async def wait_posts(self, count: int) -> list[dict[str, Any]]:
        """The first ``count`` messages the bot posted, once it has posted that many."""
        async with asyncio.timeout(15), self._changed:
            await self._changed.wait_for(lambda: len(self.posted) >= count)
        return self.posted[:count]

    async def say(self, text: str, *, user: str, room: str | None = None) -> None:
        """As a conformance Person: a direct message, or a mention in the channel ``room``."""
        ts = f"{next(self._ids)}.0"
        if room is None:
            await self.event(type="message", channel_type="im", channel="D1", user=user, text=text, ts=ts)
        else:
            self._rooms.add(room)
            await self.event(type="app_mention", channel=room, user=user, text=f"<@{BOT_USER}> {text}", ts=ts)

    async def heard(self, timeout: float = 10.0) -> Heard:
        """As a conformance Person: the next message the bot posted (to a user id: a direct one)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.posted) > self._heard)
        posted = self.posted[self._heard]
        self._heard += 1
        if posted["channel"] in self._rooms:
            return Heard(posted["text"], room=posted["channel"])
        return Heard(posted["text"], user=posted["channel"])

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        await self.runner.cleanup()


async def test_input_slack_against_a_stand_in(micro_process, example_processes, process_env):
    slack = SlackStandIn()
    await slack.start()
    try:
        await asyncio.to_thread(
            micro_process,
            MICRO, "bot", "--inputs", "slack", "--allow-users", "UALICE",
            "--slack-bot-token", BOT_TOKEN, "--slack-app-token", APP_TOKEN,
            "--slack-api-url", f"http://127.0.0.1:{slack.port}/api/",
            ready="slack: connected",
        )  # fmt: skip

        direct = await slack.reply_to(
            type="message", channel_type="im", channel="D1", user="UALICE", text="services", ts="1.1"
        )
        assert direct["channel"] == "UALICE" and "greeter" in direct["text"]
        assert direct.get("thread_ts") is None

        in_thread = await slack.reply_to(
            type="app_mention", channel="COPS", user="UALICE", ts="100.5", thread_ts="100.1",
            text=f"<@{BOT_USER}> call greeter Greeter.Hello name=Ada",
        )  # fmt: skip
        assert in_thread["channel"] == "COPS" and in_thread["thread_ts"] == "100.1"
        assert '"message": "Hello Ada' in in_thread["text"]

        long = await slack.reply_to(
            type="app_mention", channel="COPS", user="UALICE", ts="200.1", text="<@UBOT> help"
        )
        assert long["thread_ts"] == "200.1", "a long reply starts a thread under the question"
        assert "oncall [team]" in long["text"]

        watching = await slack.reply_to(
            type="app_mention", channel="COPS", user="UALICE", ts="400.1", text="<@UBOT> watch alerts"
        )
        assert watching["text"].startswith("watching `alerts` here") and watching.get("thread_ts") is None
        before = len(slack.posted)
        publish = [MICRO, "publish", "alerts", '{"level": "high"}']
        assert (await asyncio.to_thread(subprocess.run, publish, env=process_env, timeout=60)).returncode == 0
        relayed = (await slack.wait_posts(before + 1))[before]
        assert relayed["text"] == '`alerts`: {"level":"high"}'
        assert (relayed["channel"], relayed["thread_ts"]) == ("COPS", "400.1"), "a watch posts into a thread"

        refused = await slack.reply_to(
            type="app_mention", channel="COPS", user="UMALLORY", ts="300.1", text="<@UBOT> ping"
        )
        assert refused["text"] == "sorry, UMALLORY is not on this bot's list of users"

        before = len(slack.posted)
        own = await slack.event(
            type="message", channel_type="im", channel="D1", user=BOT_USER, text="pong", ts="9.9"
        )
        answered = await slack.reply_to(
            type="message", channel_type="im", channel="D1", user="UALICE", text="ping", ts="10.1"
        )
        assert answered["text"] == "pong" and len(slack.posted) == before + 1, (
            "the bot's own message is not answered"
        )
        assert own in slack.acks
    finally:
        await slack.close()


@pytest.fixture
async def slack():
    stand_in = SlackStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.close()


class TestSlackInputStandIn(InputConformance):
    """The input conformance suite, with users and channels named as Slack names them."""

    @pytest.fixture
    def bot_input(self, slack):
        return SlackInput(BOT_TOKEN, APP_TOKEN, f"http://127.0.0.1:{slack.port}/api/")

    @pytest.fixture
    def person(self, slack):
        return slack


async def test_input_slack_names_a_refused_token_in_one_line(slack):
    for bot_token, app_token in [("xoxb-wrong", APP_TOKEN), (BOT_TOKEN, "xapp-wrong")]:
        refused = SlackInput(bot_token, app_token, f"http://127.0.0.1:{slack.port}/api/")

        async def receive(message):
            raise AssertionError("nothing can arrive")

        with pytest.raises(ConnectionError, match="refused a token: invalid_auth"):
            await refused.start(receive)
