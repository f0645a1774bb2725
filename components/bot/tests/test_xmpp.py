"""The ``xmpp`` input against a real Prosody: ``micro bot`` as a real process, a user driven by slixmpp.

The greeter and the ``oncall`` command service run as real processes on a local
registry; the user asks the bot in direct messages and in a group chat, as an
operator would, and watches a topic that ``micro publish`` (the HTTP broker) feeds.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import slixmpp

MICRO = str(Path(sys.executable).parent / "micro")
BOT_NICK = "micro"
ROOM = "ops@conference.localhost"


class XMPPUser:
    """A person on the server: says things to the bot and reads its answers."""

    def __init__(self, jid: str, password: str, port: int) -> None:
        self.jid = jid
        self.port = port
        plain = {"feature_mechanisms": {"unencrypted_plain": True, "unencrypted_scram": True}}
        self.client = slixmpp.ClientXMPP(jid, password, plugin_config=plain)
        self.client.enable_direct_tls = False
        self.client.enable_starttls = False
        self.client.enable_plaintext = True
        self.client.register_plugin("xep_0045")
        self.replies: asyncio.Queue[str] = asyncio.Queue()
        self.client.add_event_handler("message", self._direct)
        self.client.add_event_handler("groupchat_message", self._group)

    def _direct(self, message) -> None:
        if message["type"] in ("chat", "normal") and message["body"]:
            self.replies.put_nowait(str(message["body"]))

    def _group(self, message) -> None:
        if message["mucnick"] == BOT_NICK and not message["delay"]["stamp"]:
            self.replies.put_nowait(str(message["body"]))

    async def connect(self) -> XMPPUser:
        online = asyncio.Event()
        self.client.add_event_handler("session_start", lambda _: online.set())
        self.client.connect("127.0.0.1", self.port)
        async with asyncio.timeout(20):
            await online.wait()
        self.client.send_presence()
        return self

    async def join(self, room: str, nick: str) -> None:
        await self.client.plugin["xep_0045"].join_muc_wait(room, nick, maxstanzas=0, timeout=20)

    async def ask(self, text: str, *, to: str, room: bool = False, timeout: float = 15) -> str:
        """Send ``text`` to the bot (or the room) and return the next thing the bot says."""
        while not self.replies.empty():
            self.replies.get_nowait()
        self.client.send_message(mto=to, mbody=text, mtype="groupchat" if room else "chat")
        async with asyncio.timeout(timeout):
            return await self.replies.get()

    async def close(self) -> None:
        await self.client.disconnect(wait=1.0)


async def test_input_xmpp_answers_refuses_strangers_and_survives_a_restart(
    prosody, micro_process, example_processes, command_suite, process_env
):
    bot = prosody.register("bot", "bot-pw")
    alice = prosody.register("alice", "alice-pw")
    mallory = prosody.register("mallory", "mallory-pw")
    micro_process(
        MICRO, "bot", "--inputs", "xmpp",
        "--xmpp-jid", bot, "--xmpp-password", "bot-pw", "--xmpp-plaintext", "yes",
        "--xmpp-server", f"127.0.0.1:{prosody.port}", "--xmpp-rooms", ROOM, "--xmpp-nick", BOT_NICK,
        "--allow-users", alice, "--allow-rooms", ROOM, "--admins", "root@localhost", "--rate", "100/60",
        ready="xmpp: online",
    )  # fmt: skip

    user = await XMPPUser(alice, "alice-pw", prosody.port).connect()
    try:
        await command_suite(lambda text: user.ask(text, to=bot))
        refused = await user.ask('register {"name": "x", "nodes": [{"id": "x-1", "address": "h:1"}]}', to=bot)
        assert refused == "sorry, `register` is for admins only"

        await user.join(ROOM, "alice")
        assert await user.ask(f"{BOT_NICK}: ping", to=ROOM, room=True) == "pong"
        in_room = await user.ask(f"@{BOT_NICK} call greeter Greeter.Hello name=Ada", to=ROOM, room=True)
        assert '"message": "Hello Ada' in in_room

        watching = await user.ask(f"{BOT_NICK}: watch alerts", to=ROOM, room=True)
        assert watching.startswith("watching `alerts` here")
        published = await asyncio.to_thread(
            subprocess.run, [MICRO, "publish", "alerts", '{"level": "high"}'], env=process_env, timeout=60
        )
        assert published.returncode == 0
        async with asyncio.timeout(15):
            assert await user.replies.get() == '`alerts`: {"level":"high"}'
        assert (
            await user.ask(f"{BOT_NICK}: unwatch alerts", to=ROOM, room=True) == "stopped watching `alerts`"
        )
    finally:
        await user.close()

    stranger = await XMPPUser(mallory, "mallory-pw", prosody.port).connect()
    try:
        assert (
            await stranger.ask("services", to=bot) == f"sorry, {mallory} is not on this bot's list of users"
        )
    finally:
        await stranger.close()

    prosody.stop()
    prosody.start()
    user = await XMPPUser(alice, "alice-pw", prosody.port).connect()
    try:
        async with asyncio.timeout(30):  # the bot's pause between attempts doubles from 0.5 s
            while True:
                try:
                    reply = await user.ask("health greeter", to=bot, timeout=2)
                    break
                except TimeoutError:
                    continue
        assert "ok" in reply
    finally:
        await user.close()
