"""The ``xmpp`` input (slixmpp): direct messages and group chats (MUC), reconnecting after outages.

In a room the bot answers only messages addressed to it (``micro: services`` or
``@micro services``, with its nickname), and ignores the history a room replays on
joining, so a reconnect never runs old commands again. A room member is known by
their real JID when the room shows it to the bot, else as ``room/nick``.

When the connection drops (a server restart, a network cut) the input connects again
with a growing pause (up to 30 s) and rejoins its rooms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

import slixmpp

from micro_bot.chat import ChatMessage, Conversation
from micro_bot.inputs.base import Input, Receive
from micro_bot.inputs.tasks import Handling
from micro_bot.settings import split_list
from micro_core import Option, Options

log = logging.getLogger("micro.bot.xmpp")

#: Longest pause between two connection attempts, in seconds.
MAX_PAUSE = 30.0
#: Seconds between pings to the server while nothing else is sent.
KEEPALIVE = 60.0


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def _server(text: str) -> tuple[str, int] | None:
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"not host:port: {text!r}")
    return host.strip("[]"), int(port)


class XMPPInput(Input):
    name = "xmpp"
    options = (
        Option("bot_xmpp_jid", "", "the bot's account, user@domain"),
        Option("bot_xmpp_password", "", "the bot account's password"),
        Option(
            "bot_xmpp_server", None, "host:port to connect to (default: found from the JID's domain)", _server
        ),
        Option(
            "bot_xmpp_rooms",
            (),
            "group chats (MUC) to join, comma-separated room@conference.domain",
            split_list,
        ),
        Option("bot_xmpp_nick", "micro", "the bot's nickname in group chats"),
        Option(
            "bot_xmpp_plaintext", False, "allow a connection without TLS (a local test server only)", _bool
        ),
    )

    def __init__(
        self,
        jid: str,
        password: str,
        *,
        server: tuple[str, int] | None = None,
        rooms: tuple[str, ...] = (),
        nick: str = "micro",
        plaintext: bool = False,
        connect_timeout: float = 30.0,
    ) -> None:
        if not jid or "@" not in jid or not password:
            raise ValueError("the xmpp input needs --xmpp-jid user@domain and --xmpp-password")
        self.jid = jid
        self.rooms = rooms
        self.nick = nick
        self._server = server
        self._timeout = connect_timeout
        self._password = password
        self._plaintext = plaintext
        self._mention = re.compile(rf"^@?{re.escape(nick)}\b[:,]?\s*", re.IGNORECASE)
        self._online = asyncio.Event()
        self._stopping = False
        self._receive: Receive | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._handling = Handling()
        self._client: slixmpp.ClientXMPP | None = None

    @classmethod
    def from_options(cls, options: Options) -> XMPPInput:
        return cls(
            options["bot_xmpp_jid"],
            options["bot_xmpp_password"],
            server=options["bot_xmpp_server"],
            rooms=options["bot_xmpp_rooms"],
            nick=options["bot_xmpp_nick"],
            plaintext=options["bot_xmpp_plaintext"],
        )

    def _new_client(self) -> slixmpp.ClientXMPP:
        """The slixmpp client, made inside the running loop (it binds to the loop it is made in)."""
        mechanisms = {"unencrypted_plain": True, "unencrypted_scram": True} if self._plaintext else {}
        client = slixmpp.ClientXMPP(
            self.jid, self._password, plugin_config={"feature_mechanisms": mechanisms}
        )
        if self._plaintext:
            client.enable_direct_tls = False
            client.enable_starttls = False
            client.enable_plaintext = True
        client.register_plugin("xep_0030")  # service discovery
        client.register_plugin("xep_0045")  # group chats
        # Pings find a connection that died without a word (a network cut), so it is made again.
        client.register_plugin(
            "xep_0199", {"keepalive": True, "interval": KEEPALIVE, "timeout": KEEPALIVE / 2}
        )
        return client

    @property
    def _xmpp(self) -> slixmpp.ClientXMPP:
        if self._client is None:
            raise RuntimeError("the xmpp input has not started")
        return self._client

    async def start(self, receive: Receive) -> None:
        self._receive = receive
        client = self._client = self._new_client()
        client.add_event_handler("session_start", self._session_start)
        client.add_event_handler("message", self._direct)
        client.add_event_handler("groupchat_message", self._group)
        client.add_event_handler("disconnected", self._disconnected)
        self._connect()
        try:
            async with asyncio.timeout(self._timeout):
                await self._online.wait()
        except TimeoutError:
            await self.stop()
            where = "{}:{}".format(*self._server) if self._server else self.jid.partition("@")[2]
            raise ConnectionError(
                f"xmpp: no session as {self.jid} at {where} within {self._timeout:g}s"
            ) from None

    def _connect(self) -> None:
        host, port = self._server or (None, None)
        self._xmpp.connect(host, port)

    async def _session_start(self, _event: Any) -> None:
        self._xmpp.send_presence()
        await self._xmpp.get_roster()
        for room in self.rooms:
            await self._xmpp.plugin["xep_0045"].join_muc_wait(slixmpp.JID(room), self.nick, maxstanzas=0)
        self._online.set()
        log.info("xmpp: online as %s in %d room(s)", self.jid, len(self.rooms))

    def _disconnected(self, reason: Any) -> None:
        self._online.clear()
        if self._stopping or (self._reconnecting is not None and not self._reconnecting.done()):
            return
        log.warning("xmpp: disconnected (%s); reconnecting", reason)
        self._reconnecting = asyncio.create_task(self._reconnect(), name="xmpp reconnect")

    async def _reconnect(self) -> None:
        """Try again, with a pause that doubles up to :data:`MAX_PAUSE`, until a session starts."""
        pause = 0.5
        while not self._stopping:
            self._connect()  # cancels the previous attempt and its own back-off
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._online.wait()
                    return
            pause = min(MAX_PAUSE, pause * 2)

    def _handle(self, text: str, conversation: Conversation) -> None:
        if self._receive is None or not text.strip():
            return
        self._handling.start(self._receive(ChatMessage(text, conversation)))

    def _direct(self, message: Any) -> None:
        if message["type"] not in ("chat", "normal") or message["delay"]["stamp"]:
            return
        self._handle(message["body"], Conversation(self.name, str(message["from"].bare)))

    def _group(self, message: Any) -> None:
        nick = message["mucnick"]
        if nick == self.nick or not nick or message["delay"]["stamp"]:
            return  # our own echo, the room's subject, or replayed history
        body = str(message["body"])
        mention = self._mention.match(body)
        if mention is None:
            return
        room = str(message["from"].bare)
        real = self._xmpp.plugin["xep_0045"].get_jid_property(slixmpp.JID(room), nick, "jid")
        user = str(slixmpp.JID(real).bare) if real else f"{room}/{nick}"
        self._handle(body[mention.end() :], Conversation(self.name, user, room=room, message=message["id"]))

    async def send(self, conversation: Conversation, text: str, *, thread: bool = False) -> None:
        if conversation.room is not None:
            self._xmpp.send_message(mto=slixmpp.JID(conversation.room), mbody=text, mtype="groupchat")
        else:
            self._xmpp.send_message(mto=slixmpp.JID(conversation.user), mbody=text, mtype="chat")

    async def stop(self) -> None:
        self._stopping = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        self._handling.cancel()
        if self._client is None:
            return
        if self._client.transport is not None:
            await self._client.disconnect(wait=1.0)
        self._client.cancel_connection_attempt()


__all__ = ["XMPPInput"]
