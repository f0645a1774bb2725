"""The four handlers and the streams: a resolved request becomes a call, a proxy hop or an event.

- ``rpc``: :func:`micro_http.read_value` → ``client.call`` → the reply as JSON. Path
  parameters of a metadata route fill fields of an object request. A protobuf body
  (``application/protobuf``) goes to the service as is and its reply comes back as is:
  the gateway never decodes protobuf, the service's codec does.
- ``api``: the whole request as :class:`~micro_api.types.Request`; the service's
  :class:`~micro_api.types.Response` is the HTTP response.
- ``http``: :class:`micro_http.proxy.Proxy` forwards to a node of the service.
- ``event``: the body is published as an :class:`~micro_api.types.Event` to
  ``<namespace>.<first path segment>``; 202 with ``{"id": …}``.
- streams (endpoints with ``stream: true`` metadata): see :meth:`Handlers.stream`.

Upstream failures keep their meaning at the edge: a node that is gone is 502, every
node draining 503, an upstream out of time 504 (:func:`micro_http.as_error`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

import aiohttp
import msgspec
from aiohttp import web

from micro_api.routes import Route
from micro_api.types import Event, Pair, Request, Response
from micro_core import Client, Codec, errors, hookimpl
from micro_core.broker import BrokerError
from micro_core.registry import ServiceNotFound
from micro_http import add_upstream, parse_json, read_value, set_timeout
from micro_http.proxy import Proxy
from micro_http.translate import FORM_TYPES, read_form

#: Body types passed to the service untouched; its own codec decodes them.
PASSED_THROUGH = frozenset({"application/protobuf", "application/x-protobuf"})
NDJSON = "application/x-ndjson"
SSE = "text/event-stream"
#: Headers of an ``api`` reply that the HTTP layer sets itself.
_OWN_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
#: Websocket close codes: normal, and "the server could not go on" (an upstream error).
_WS_DONE = 1000
_WS_FAILED = 1011

_encode = msgspec.json.Encoder().encode


class _Bytes(Codec):
    """A passed-through content type: bytes in, bytes out."""

    content_types = ()

    def __init__(self, content_type: str) -> None:
        self._content_type = content_type

    @property
    def content_type(self) -> str:
        return self._content_type

    def encode(self, value: Any) -> bytes:
        return bytes(value)

    def decode(self, data: bytes, type: Any = None) -> Any:
        return data


class PassThrough:
    """The gateway's plugin that answers for :data:`PASSED_THROUGH` content types with bytes.

    Registered only on the gateway's own plugin manager, where nothing else encodes
    protobuf: the gateway relays those bodies, it never builds protobuf messages.
    """

    @hookimpl(tryfirst=True)
    def micro_codec(self, content_type: str, options: Any) -> Codec | None:
        return _Bytes(content_type) if content_type in PASSED_THROUGH else None


def upstream_error(route: Route, exc: errors.MicroError) -> errors.MicroError:
    """An upstream failure in the client's words, as the edge should report it."""
    if isinstance(exc, ServiceNotFound):
        return errors.NotFound(f"service {route.service!r} is not registered any more", id="micro.api")
    if exc.code == errors.ServiceUnavailable.code and exc.id == "micro.client":
        # The client gives 503 when no node answered at all: seen from the edge, a dead upstream.
        return errors.BadGateway(f"{route.service} {route.endpoint}: {exc.detail}", id="micro.api")
    return exc


def _pairs(items: Any) -> dict[str, Pair]:
    result: dict[str, Pair] = {}
    for key in items.keys():  # noqa: SIM118 - a multidict repeats a key once per value
        if key not in result:
            result[str(key)] = Pair(str(key), list(items.getall(key)))
    return result


def _new_id() -> str:
    return random.getrandbits(128).to_bytes(16).hex()


class Handlers:
    """The handlers of one gateway, sharing its client, proxy and namespace."""

    def __init__(self, client: Client, proxy: Proxy, namespace: str = "") -> None:
        self.client = client
        self.proxy = proxy
        self.namespace = namespace

    async def call(self, request: web.Request, route: Route, value: Any, **options: Any) -> Any:
        """``client.call`` for ``route``, timed as upstream, failures in the edge's words."""
        started = time.perf_counter()
        try:
            return await self.client.call(route.service, route.endpoint, value, **options)
        except errors.MicroError as exc:
            raise upstream_error(route, exc) from None
        finally:
            add_upstream(request, time.perf_counter() - started)

    async def rpc(self, request: web.Request, route: Route) -> web.StreamResponse:
        content_type = request.content_type
        if content_type in PASSED_THROUGH and request.body_exists:
            reply = await self.call(request, route, await request.read(), content_type=content_type)
            return web.Response(body=reply, content_type=content_type)
        value = await read_value(request)
        if route.params and isinstance(value, dict):
            value.update(route.params)
        reply = await self.call(request, route, value)
        return web.Response(body=_encode(reply), content_type="application/json")

    async def api(self, request: web.Request, route: Route) -> web.StreamResponse:
        form = request.content_type in FORM_TYPES
        body = "" if form or not request.body_exists else (await request.read()).decode(errors="replace")
        call = Request(
            method=request.method,
            path=request.path,
            header=_pairs(request.headers),
            get=_pairs(request.query),
            post=_pairs(await read_form(request)) if form else {},
            body=body,
            url=str(request.url),
        )
        reply: Response = await self.call(request, route, call, response_type=Response)
        response = web.Response(status=reply.status_code, body=reply.body.encode())
        for pair in reply.header.values():
            if pair.key.lower() not in _OWN_HEADERS:
                for value in pair.values:
                    response.headers.add(pair.key, value)
        return response

    async def http(self, request: web.Request, route: Route) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            set_timeout(request, None)  # a relayed websocket lives as long as its peers
        return await self.proxy.forward(request, route.service, request.rel_url.raw_path)

    async def event(self, request: web.Request, segment: str) -> web.StreamResponse:
        if request.method != "POST":
            raise errors.MethodNotAllowed(
                f"events are published with POST, not {request.method}", id="micro.api"
            )
        topic = f"{self.namespace}.{segment}" if self.namespace else segment
        event = Event(
            name=topic,
            id=_new_id(),
            timestamp=int(time.time()),
            header=_pairs(request.headers),
            data=(await request.read()).decode(errors="replace"),
        )
        started = time.perf_counter()
        try:
            await self.client.publish(topic, event)
        except BrokerError as exc:
            raise errors.BadGateway(f"could not publish to {topic}: {exc}", id="micro.api") from None
        finally:
            add_upstream(request, time.perf_counter() - started)
        return web.json_response({"id": event.id, "topic": topic}, status=202)

    # --- streams -------------------------------------------------------------------------

    async def stream(self, request: web.Request, route: Route) -> web.StreamResponse:
        """A stream endpoint over HTTP.

        A websocket upgrade carries a client or bidirectional stream: each text frame
        from the client is one JSON request (the first opens the stream), each reply is
        one text frame, an empty text frame ends the client's side, and the server's end
        closes the socket (1000). A plain request (JSON, form or query as for ``rpc``)
        opens a server stream whose replies are sent as Server-Sent Events when
        ``Accept`` names ``text/event-stream`` (``event: message`` with ``id`` and JSON
        ``data``; finally ``event: end``), else as NDJSON (one JSON reply per line). An
        error after the first reply arrives in-band: ``event: error`` / a line
        ``{"error": {id, code, detail, status}}``; before it, as the HTTP status.
        """
        set_timeout(request, None)  # a stream lasts as long as its peers want
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, route)
        value = await read_value(request)
        sse = SSE in request.headers.get("Accept", "")
        async with self.client.stream(route.service, route.endpoint, value) as stream:
            await stream.close_send()  # the request is the only message a plain HTTP request sends
            try:
                first = await stream.recv()
            except StopAsyncIteration:
                first = None
            except errors.MicroError as exc:
                raise upstream_error(route, exc) from None
            response = web.StreamResponse(
                headers={"Content-Type": SSE if sse else NDJSON, "Cache-Control": "no-cache"}
            )
            await response.prepare(request)
            count = 0
            try:
                if first is not None:
                    await response.write(_frame(sse, first, count))
                    async for reply in stream:
                        count += 1
                        await response.write(_frame(sse, reply, count))
                if sse:
                    await response.write(b"event: end\ndata: {}\n\n")
            except errors.MicroError as exc:
                error = upstream_error(route, exc).to_json()
                await response.write(
                    b"event: error\ndata: " + error + b"\n\n" if sse else b'{"error":' + error + b"}\n"
                )
            except ConnectionError:
                return response  # the client went away: leaving the block closes the upstream stream
            await response.write_eof()
            return response

    async def _websocket(self, request: web.Request, route: Route) -> web.StreamResponse:
        socket = web.WebSocketResponse(heartbeat=30)
        await socket.prepare(request)
        opening = await socket.receive()
        if opening.type is not aiohttp.WSMsgType.TEXT:
            await socket.close()
            return socket
        try:
            async with self.client.stream(route.service, route.endpoint, parse_json(opening.data)) as stream:
                replies = asyncio.ensure_future(self._replies(socket, stream))
                requests = asyncio.ensure_future(self._requests(socket, stream))
                done, _ = await asyncio.wait({replies, requests}, return_when=asyncio.FIRST_COMPLETED)
                if requests in done and requests.result() is False:
                    replies.cancel()  # the client vanished or closed: the stream ends with it
                await asyncio.gather(replies, return_exceptions=True)
                requests.cancel()
                await asyncio.gather(requests, return_exceptions=True)
                failure = replies.exception() if not replies.cancelled() else None
                if failure is not None:
                    raise failure
        except errors.MicroError as exc:
            error = upstream_error(route, exc)
            with contextlib.suppress(ConnectionError):
                await socket.send_str('{"error":' + error.to_json().decode() + "}")
            await socket.close(code=_WS_FAILED, message=error.detail.encode()[:120])
            return socket
        await socket.close(code=_WS_DONE)
        return socket

    @staticmethod
    async def _replies(socket: web.WebSocketResponse, stream: Any) -> None:
        async for reply in stream:
            await socket.send_str(_encode(reply).decode())

    @staticmethod
    async def _requests(socket: web.WebSocketResponse, stream: Any) -> bool:
        """Relay the client's frames; True when it ended its side, False when it went away."""
        async for message in socket:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            if message.data == "":
                await stream.close_send()
                return True
            await stream.send(parse_json(message.data))
        return False


def _frame(sse: bool, reply: Any, count: int) -> bytes:
    data = _encode(reply)
    return b"event: message\nid: %d\ndata: %s\n\n" % (count, data) if sse else data + b"\n"


__all__ = ["NDJSON", "PASSED_THROUGH", "SSE", "Handlers", "PassThrough", "upstream_error"]
