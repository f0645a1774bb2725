"""The ``slack`` input (the official slack_sdk, Socket Mode): direct messages and mentions, in threads.

Socket Mode needs no public URL: the bot opens a websocket to Slack with an app-level
token (``xapp-…``, scope ``connections:write``) and answers through the Web API with
the bot token (``xoxb-…``; scopes ``app_mentions:read``, ``im:history``,
``chat:write``). The app subscribes to the ``app_mention`` and ``message.im`` events.

A mention inside a thread is answered in that thread; a long reply or a watch's
relays start a thread under the message that asked.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from micro_bot.chat import ChatMessage, Conversation
from micro_bot.inputs.base import Input, Receive
from micro_bot.inputs.tasks import Handling
from micro_core import Option, Options

log = logging.getLogger("micro.bot.slack")

#: ``<@U024BE7LH>``: how Slack writes a mention in a message's text.
_MENTION = re.compile(r"<@[A-Z0-9]+>[:,]?\s*")


class SlackInput(Input):
    name = "slack"
    options = (
        Option("bot_slack_bot_token", "", "the bot token (xoxb-...) for the Web API"),
        Option("bot_slack_app_token", "", "the app-level token (xapp-...) for Socket Mode"),
        Option("bot_slack_api_url", "https://slack.com/api/", "the Web API's base URL"),
    )

    def __init__(self, bot_token: str, app_token: str, api_url: str = "https://slack.com/api/") -> None:
        if not bot_token or not app_token:
            raise ValueError(
                "the slack input needs --slack-bot-token (xoxb-...) and --slack-app-token (xapp-...)"
            )
        self._bot_token = bot_token
        self._app_token = app_token
        self._api_url = api_url
        self._web: AsyncWebClient | None = None
        self._socket: SocketModeClient | None = None
        self._receive: Receive | None = None
        self._handling = Handling()
        self.user_id = ""

    @classmethod
    def from_options(cls, options: Options) -> SlackInput:
        return cls(
            options["bot_slack_bot_token"], options["bot_slack_app_token"], options["bot_slack_api_url"]
        )

    async def start(self, receive: Receive) -> None:
        """Learn the bot's own user id, then open the Socket Mode connection (made in the running loop)."""
        self._receive = receive
        self._web = AsyncWebClient(token=self._bot_token, base_url=self._api_url)
        self._socket = SocketModeClient(self._app_token, web_client=self._web, logger=log)
        try:
            identity = await self._web.auth_test()
            # Asked here, not in connect(), which would retry a refused token forever.
            self._socket.wss_uri = await self._socket.issue_new_wss_url()
        except SlackApiError as exc:
            await self.stop()
            raise ConnectionError(
                f"slack: {self._api_url} refused a token: {exc.response.get('error')}"
            ) from None
        self.user_id = str(identity["user_id"])
        self._socket.socket_mode_request_listeners.append(self._on_request)
        await self._socket.connect()  # type: ignore[no-untyped-call]  # slack_sdk leaves it untyped
        log.info("slack: connected as %s", self.user_id)

    async def _on_request(self, client: Any, request: SocketModeRequest) -> None:
        """Acknowledge at once (Slack resends what is not acked within 3 s), then handle."""
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        if request.type != "events_api":
            return
        conversation = self._conversation(request.payload.get("event", {}))
        if conversation is not None and self._receive is not None:
            text = _MENTION.sub("", conversation[0], count=1)
            self._handling.start(self._receive(ChatMessage(text, conversation[1])))

    def _conversation(self, event: dict[str, Any]) -> tuple[str, Conversation] | None:
        """The text and conversation of a mention or a direct message; None for anything else."""
        user = event.get("user")
        if not user or user == self.user_id or event.get("bot_id") or event.get("subtype"):
            return None  # the bot's own messages, other bots, edits and joins
        text = str(event.get("text", ""))
        if event.get("type") == "app_mention":
            room = str(event["channel"])
        elif event.get("type") == "message" and event.get("channel_type") == "im":
            room = None
        else:
            return None
        thread = event.get("thread_ts")
        return text, Conversation(self.name, str(user), room, thread, event.get("ts"))

    async def send(self, conversation: Conversation, text: str, *, thread: bool = False) -> None:
        if self._web is None:
            raise RuntimeError("the slack input has not started")
        in_thread = conversation.thread or (conversation.message if thread else None)
        channel = conversation.room or conversation.user  # a user id posts into the bot's DM with them
        await self._web.chat_postMessage(channel=channel, text=text, thread_ts=in_thread)

    async def stop(self) -> None:
        self._handling.cancel()
        if self._socket is not None:
            await self._socket.close()  # type: ignore[no-untyped-call]


__all__ = ["SlackInput"]
