"""The broker for an app that speaks only HTTP: a websocket, push subscriptions, or Server-Sent Events.

Three ways in, one rule: a message counts as delivered (acked) only once it reached
the app, so delivery stays at least once whichever way the app chose.

- ``/broker?topic=&queue=`` (websocket, the original sidecar's route): each message's
  body is sent as one text frame once it arrives; each text frame the app sends is
  published to the same topic. A message is acked when its frame was written; a
  closed socket hands it back to be delivered again. A frame that is not JSON is
  answered with an error frame ``{"error": {id, code, detail, status}}``.
- Push (``POST /subscriptions {topic, queue, url}``, or ``--push`` at start): the
  sidecar POSTs each message to the app's URL with its headers, and acks only on a
  2xx answer within the push timeout; anything else (an error, a timeout, no answer)
  hands it back.
- Pull (``GET /events?topic=&queue=``): a ``text/event-stream`` for apps that accept
  no inbound connection, one event per message (``id`` is its ``Micro-Id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from micro_core import Broker, Client, Event, errors, headers
from micro_core.broker import Subscription
from micro_http import metadata, parse_json, set_timeout

log = logging.getLogger("micro.sidecar.events")

#: Seconds between comment lines on an idle event stream, so a dead client is noticed.
HEARTBEAT = 15.0
#: ``Micro-Metadata-Clerk: ann`` on ``POST /publish/<topic>`` publishes with metadata ``Clerk: ann``.
METADATA_PREFIX = "Micro-Metadata-"


@dataclass
class Push:
    """A push subscription: messages on ``topic`` go to ``url``."""

    id: str
    topic: str
    queue: str | None
    url: str
    subscription: Subscription | None = None

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "topic": self.topic, "queue": self.queue, "url": self.url}


def _topic_of(request: web.Request) -> tuple[str, str | None]:
    topic = request.query.get("topic", "").strip()
    if not topic:
        raise errors.BadRequest("say which topic: ?topic=NAME", id="micro.sidecar")
    return topic, request.query.get("queue") or None


def _error_frame(error: errors.MicroError) -> str:
    return '{"error": ' + error.to_json().decode() + "}"


class Events:
    """The broker routes of the sidecar; :meth:`close` ends every subscription they made."""

    def __init__(
        self,
        broker: Broker,
        client: Client,
        http: aiohttp.ClientSession,
        *,
        app_url: str,
        push_timeout: float,
        max_message: int,
    ) -> None:
        self.broker = broker
        self.client = client
        self.app_url = app_url.rstrip("/")
        self.push_timeout = push_timeout
        self.max_message = max_message
        self.pushes: dict[str, Push] = {}
        self._http = http
        self._sockets: set[web.WebSocketResponse] = set()
        self._closing = asyncio.Event()  # ends the event streams at shutdown

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/publish/{topic}", self.publish),
            web.get("/broker", self.websocket),
            web.get("/events", self.pull),
            web.get("/subscriptions", self.list_pushes),
            web.post("/subscriptions", self.add_push),
            web.delete("/subscriptions/{id}", self.remove_push),
        ]

    async def _publish(self, topic: str, value: object, meta: Mapping[str, str]) -> None:
        await self.client.publish(topic, value, metadata=meta)

    # --- publish ------------------------------------------------------------------------

    async def publish(self, request: web.Request) -> web.Response:
        """``POST /publish/<topic>``: the JSON body is the message, each ``Micro-Metadata-<Key>``
        header one of its metadata; 204 once the broker took it."""
        value = parse_json(await request.read())
        given = {
            name[len(METADATA_PREFIX) :]: text
            for name, text in request.headers.items()
            if name.lower().startswith(METADATA_PREFIX.lower()) and len(name) > len(METADATA_PREFIX)
        }
        await self._publish(request.match_info["topic"], value, {**metadata(request), **given})
        return web.Response(status=204)

    # --- websocket ----------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        topic, queue = _topic_of(request)
        set_timeout(request, None)  # a socket lives as long as the app keeps it
        socket = web.WebSocketResponse(max_msg_size=self.max_message, heartbeat=HEARTBEAT)
        await socket.prepare(request)
        meta = dict(metadata(request))

        async def forward(event: Event) -> None:
            if socket.closed:
                raise ConnectionError("the app's websocket is closed")
            body = event.message.body
            try:
                await socket.send_str(body.decode())
            except UnicodeDecodeError:  # not text (another codec's message): as it is
                await socket.send_bytes(body)

        subscription = await self.broker.subscribe(topic, forward, queue=queue)
        self._sockets.add(socket)
        try:
            async for frame in socket:
                if frame.type is aiohttp.WSMsgType.ERROR:
                    break  # the connection failed; the socket is closed below
                if frame.type is not aiohttp.WSMsgType.TEXT:
                    error = errors.BadRequest("send messages as JSON text frames", id="micro.sidecar")
                    await socket.send_str(_error_frame(error))
                    continue
                try:
                    await self._publish(topic, parse_json(frame.data.encode()), meta)
                except errors.MicroError as exc:
                    await socket.send_str(_error_frame(exc))
        finally:
            self._sockets.discard(socket)
            await subscription.unsubscribe()
        return socket

    # --- push ---------------------------------------------------------------------------

    async def list_pushes(self, request: web.Request) -> web.Response:
        return web.json_response([push.to_dict() for push in self.pushes.values()])

    async def add_push(self, request: web.Request) -> web.Response:
        """``POST /subscriptions {topic, queue?, url}``: 201 with the subscription's id."""
        body = parse_json(await request.read())
        if not isinstance(body, dict) or not body.get("topic") or not body.get("url"):
            raise errors.BadRequest('expected {"topic": ..., "url": ..., "queue": ...}', id="micro.sidecar")
        push = await self.push(
            str(body["topic"]), str(body["queue"]) if body.get("queue") else None, str(body["url"])
        )
        return web.json_response(push.to_dict(), status=201)

    async def push(self, topic: str, queue: str | None, url: str) -> Push:
        """Push each message on ``topic`` to ``url`` (a path is on the app) from now on."""
        if "://" not in url and not self.app_url:
            raise errors.BadRequest(
                f"{url!r} is a path, and this sidecar stands beside no app", id="micro.sidecar"
            )
        push = Push(
            uuid.uuid4().hex, topic, queue, url if "://" in url else self.app_url + "/" + url.lstrip("/")
        )
        push.subscription = await self.broker.subscribe(
            topic, functools.partial(self._push, push), queue=queue
        )
        self.pushes[push.id] = push
        return push

    async def remove_push(self, request: web.Request) -> web.Response:
        push = self.pushes.pop(request.match_info["id"], None)
        if push is None:
            raise errors.NotFound(f"no push subscription {request.match_info['id']}", id="micro.sidecar")
        if push.subscription is not None:
            await push.subscription.unsubscribe()
        return web.Response(status=204)

    async def _push(self, push: Push, event: Event) -> None:
        """POST the message to the app; returning acks it, raising hands it back."""
        timeout = aiohttp.ClientTimeout(total=self.push_timeout)
        try:
            async with self._http.post(
                push.url, data=event.message.body, headers=event.message.header, timeout=timeout
            ) as response:
                await response.read()
                status = response.status
        except TimeoutError:
            raise errors.GatewayTimeout(
                f"push to {push.url} got no answer within {self.push_timeout:g}s", id="micro.sidecar"
            ) from None
        except aiohttp.ClientError as exc:
            raise errors.BadGateway(f"push to {push.url} failed: {exc}", id="micro.sidecar") from None
        if not 200 <= status < 300:
            raise errors.BadGateway(f"push to {push.url} answered {status}", id="micro.sidecar")

    # --- pull (Server-Sent Events) ------------------------------------------------------

    async def pull(self, request: web.Request) -> web.StreamResponse:
        topic, queue = _topic_of(request)
        set_timeout(request, None)
        stream = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await stream.prepare(request)
        lock = asyncio.Lock()

        async def forward(event: Event) -> None:
            lines = event.message.body.decode().splitlines() or [""]
            ident = event.message.header.get(headers.ID, "")
            text = f"id: {ident}\nevent: {event.topic}\n" + "".join(f"data: {line}\n" for line in lines)
            async with lock:
                await stream.write((text + "\n").encode())

        subscription = await self.broker.subscribe(topic, forward, queue=queue)
        try:
            while not self._closing.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), HEARTBEAT)
                async with lock:
                    await stream.write(b": ping\n\n")
        except ConnectionError:
            pass  # the app went away; its unacked messages go to another member or come back
        finally:
            await subscription.unsubscribe()
        return stream

    async def close(self) -> None:
        """End every push subscription, websocket and event stream."""
        self._closing.set()
        for push in list(self.pushes.values()):
            if push.subscription is not None:
                with contextlib.suppress(Exception):
                    await push.subscription.unsubscribe()
        self.pushes.clear()
        for socket in list(self._sockets):
            await socket.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"the sidecar is stopping")


__all__ = ["HEARTBEAT", "METADATA_PREFIX", "Events", "Push"]
