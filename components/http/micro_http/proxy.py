"""The reverse proxy: one HTTP request or websocket, forwarded to a node of a service.

``micro web`` serves ``/<name>/...`` with it and the API gateway's ``http`` handler
forwards with it; both give it the service and the rest of the path. A node is picked
through the kernel's selector (so load balancing, the watched cache and the failure
marks are the same as for RPC calls), bodies stream both ways without being buffered,
and websockets are relayed frame by frame until one side closes. Plain requests go over
the proxy's own pooled keep-alive connections (``_Upstream``, parsed by httptools, a
dependency of the kernel); websockets over aiohttp's client.

Failures are raised as micro errors for the HTTP stack to render: 404 listing the
known services for an unknown one, 503 when no node is left (all draining or down),
502 naming the service and node when the backend fails before it answers, 504 when
it does not answer in time. A node that refuses the connection or answers "draining" is
marked in the selector and the request tries another node; one that fails after the
request was sent is not replayed (it may have acted), except a bodiless request on an
idle connection the node had just closed, which is sent once more on a new connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Final, TypeVar

import aiohttp
import httptools
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from micro_core import Selector, errors
from micro_core.deadlines import Deadlines
from micro_core.registry import Node, ServiceNotFound

log = logging.getLogger("micro.http.proxy")

T = TypeVar("T")

__all__ = ["DRAINING_HEADER", "PREFIX_HEADER", "Proxy"]

#: The base path a proxied app is served under, so it can build its own links.
PREFIX_HEADER: Final = "X-Forwarded-Prefix"
#: Set by a web service on its 503 while it drains: the proxy then tries another node.
DRAINING_HEADER: Final = "Micro-Draining"

# RFC 9110 7.6.1: meaningful for one connection only, never forwarded.
_HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Made anew for the backend's websocket handshake by the client.
_HANDSHAKE: Final = frozenset(
    {b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-extensions", b"sec-websocket-protocol"}
)
# Bodies up to this size (by Content-Length) are read whole and sent in one write: a
# streamed response costs a prepare, a write per chunk and a write_eof, about a quarter
# of the proxy's time for a small page.
_WHOLE_BODY: Final = 64 * 1024
# The client's framing of its body; the proxy frames what it forwards itself. Expect is
# answered by the proxy's own server before the body is read.
_FRAMED: Final = frozenset({b"content-length", b"expect"})
# Set by the proxy itself, whatever the client sent.
_REPLACED: Final = frozenset(
    {b"host", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", PREFIX_HEADER.lower().encode()}
)
_NOT_FORWARDED: Final = frozenset(name.encode() for name in _HOP_BY_HOP) | _REPLACED
# Methods whose request says "no body" with Content-Length: 0 rather than nothing.
_SENDS_BODY: Final = frozenset({"POST", "PUT", "PATCH"})
# A close reason must fit in a control frame (125 bytes, 2 of them for the code).
_MAX_REASON: Final = 123
_BACKEND_GONE: Final = 1011  # "internal error": the server side could not go on


class _Draining(Exception):
    """A node answered 503 with the draining header to a request that may go elsewhere."""


def _reason(text: str) -> str:
    encoded = text.encode()[:_MAX_REASON]
    return encoded.decode(errors="ignore")


def _forwardable(header: CIMultiDict[str]) -> CIMultiDict[str]:
    """A response's ``header`` without hop-by-hop fields and those its Connection field names."""
    forwarded = CIMultiDict(header)  # copied in C, then the few names taken out: the fast way
    connection = header.get("Connection")
    named = [token.strip() for token in connection.split(",")] if connection else []
    for name in (*_HOP_BY_HOP, *named):
        if name in forwarded:
            del forwarded[name]
    return forwarded


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")  # as aiohttp decodes header values


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket" and "upgrade" in {
        token.strip().lower() for token in request.headers.get("Connection", "").split(",")
    }


class _Unreachable(ConnectionError):
    """No connection to the node could be opened: nothing was sent, any request may go elsewhere."""


class _Upstream(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection to a node, one exchange at a time.

    The proxy's hot path: a request is written as bytes and the response parsed by
    httptools as it arrives. aiohttp's client did the same job at about three times
    the CPU per request (its request and response objects, tracing, cookie and
    redirect handling), which made the proxy the bottleneck in front of any node.
    """

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._writable = asyncio.Event()
        self._writable.set()
        self._readable = asyncio.Event()
        self.closed = False
        self.begin(head=False)

    def begin(self, *, head: bool) -> None:
        """Get ready for the next response (``head``: the request was HEAD, so it has no body)."""
        self._head = head
        self.status = 0
        self.reason = ""
        self.headers: CIMultiDict[str] = CIMultiDict()
        self.ready: asyncio.Future[None] = self._loop.create_future()  # the status and headers are in
        self._chunks: list[bytes] = []
        self._buffered = 0
        self.complete = False
        self.keep_alive = False
        self._error: BaseException | None = None
        self._readable.clear()

    # --- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._lose(ConnectionError(f"sent a malformed response ({exc})"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._lose(exc or ConnectionResetError("closed the connection"))
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # --- httptools callbacks -----------------------------------------------------------------

    def on_status(self, status: bytes) -> None:
        self.reason = status.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.add(name.decode("latin-1"), value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.keep_alive = self._parser.should_keep_alive()
        if self._head:  # the parser would wait for the body a HEAD response announces but never sends
            self.complete, self.keep_alive = True, False
        if not self.ready.done():
            self.ready.set_result(None)
        self._readable.set()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _WHOLE_BODY and self._transport is not None:
            self._transport.pause_reading()  # the client reads slower than the node writes
        self._readable.set()

    def on_message_complete(self) -> None:
        self.complete = True
        self._readable.set()

    # --- for the proxy ------------------------------------------------------------------------

    def _lose(self, error: BaseException) -> None:
        if self.complete:
            return
        self._error = error
        if not self.ready.done():
            self.ready.set_exception(error)
            self.ready.exception()  # retrieved here too: the proxy may be gone (a timeout)
        self._readable.set()

    def send(self, data: bytes) -> None:
        """Write ``data`` now (a request head); :meth:`write` also waits while the node reads slower."""
        if self._transport is None or self.closed:
            raise self._error or ConnectionResetError("closed the connection")
        self._transport.write(data)

    async def write(self, data: bytes) -> None:
        self.send(data)
        if not self._writable.is_set():
            await self._writable.wait()

    def body(self) -> bytes:
        """The whole body of a :attr:`complete` response, taken without waiting."""
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        return data

    async def chunk(self) -> bytes | None:
        """The body received since the last call; None at its end; the connection's error if it broke."""
        while not self._chunks:
            if self.complete:
                return None
            if self._error is not None:
                raise self._error
            self._readable.clear()
            await self._readable.wait()
        data = b"".join(self._chunks) if len(self._chunks) > 1 else self._chunks[0]
        self._chunks.clear()
        self._buffered = 0
        if self._transport is not None and not self.closed:
            self._transport.resume_reading()
        return data

    @property
    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class Proxy:
    """Forwards requests to the nodes of services, picked by ``selector``; one per server.

    :param timeout: seconds to wait for a backend's response headers (504 after).
    :param connect_timeout: seconds to open a connection to a node before trying another.
    :param known: the service names a 404 lists; by default every service in the registry.
    :param hidden_cookies: cookies of the proxy's own (a login session) that backends must
        never see; they are taken out of the forwarded ``Cookie`` header.
    """

    def __init__(
        self,
        selector: Selector,
        *,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        known: Callable[[], Awaitable[Iterable[str]]] | None = None,
        hidden_cookies: Iterable[str] = (),
    ) -> None:
        self.selector = selector
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._known = known or self._registered
        self._hidden = frozenset(hidden_cookies)
        self._session: aiohttp.ClientSession | None = None  # websockets only
        self._idle: dict[str, list[_Upstream]] = {}  # node address -> idle connections
        self._deadlines = Deadlines.for_timeout(timeout)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, force_close=False),
                # The client's request, byte for byte: no cookies kept between users, no
                # decompression, no headers of our own, no redirects followed.
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout),
            )
            # aiohttp replays an idempotent request once when the connection drops; that would
            # send a request that just killed a node to it again, and hide the failure (the
            # selector's marks and our own loop pick the next node). aiohttp's test client
            # switches it off the same way; there is no public setting.
            self._session._retry_connection = False
        return self._session

    async def close(self) -> None:
        """Close the pooled connections to the backends."""
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        await self._deadlines.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _registered(self) -> list[str]:
        return sorted({service.name for service in await self.selector.registry.list_services()})

    # --- picking a node ------------------------------------------------------------------

    async def _select(self, service: str, tried: list[str]) -> Node:
        try:
            return await self.selector.select(service, exclude=tried)
        except ServiceNotFound:
            known = ", ".join(await self._known()) or "none"
            raise errors.NotFound(
                f"no web service {service!r} is registered; known: {known}", id="micro.proxy"
            ) from None
        except errors.ServiceUnavailable:
            what = f"{len(tried)} tried and failed or draining" if tried else "none available"
            raise errors.ServiceUnavailable(
                f"no node of {service!r} can take the request ({what})", id="micro.proxy"
            ) from None

    def _failed(self, service: str, node: Node, detail: str) -> errors.BadGateway:
        """Mark ``node`` and say which service and node failed, in the error the client sees."""
        error = errors.BadGateway(f"{service}: node {node.id} at {node.address} {detail}", id="micro.proxy")
        self.selector.mark(service, node, error)
        return error

    # --- forwarding ----------------------------------------------------------------------

    def _upstream_headers(
        self, request: web.Request, prefix: str, drop: frozenset[bytes]
    ) -> list[tuple[bytes, bytes]]:
        """The client's header fields for the node, as sent: without hop-by-hop fields, those
        its Connection field names, ``drop`` and the proxy's own cookies; with
        ``X-Forwarded-*`` and the base path. Taken from the raw fields as bytes: a copied
        header dictionary, a dozen deletions from it and the text encoded again cost the
        proxy about 3 us a request, three times this."""
        headers = request.headers
        connection = headers.get("Connection")
        skipped = _NOT_FORWARDED | drop
        if connection:
            skipped |= {_raw(token.strip().lower()) for token in connection.split(",")}
        forwarded = []
        cookies = []
        hidden = self._hidden
        for name, value in request.raw_headers:
            lowered = name.lower()
            if lowered in skipped:
                continue
            if hidden and lowered == b"cookie":
                cookies.append(_text(value))
            else:
                forwarded.append((name, value))
        kept = [
            pair.strip()
            for cookie in cookies
            for pair in cookie.split(";")
            if pair.partition("=")[0].strip() not in hidden
        ]
        if kept:
            forwarded.append((b"Cookie", _raw("; ".join(kept))))
        peer = request.remote or ""
        earlier = headers.get("X-Forwarded-For")
        forwarded += (
            (b"X-Forwarded-For", _raw(f"{earlier}, {peer}" if earlier else peer)),
            (b"X-Forwarded-Proto", _raw(headers.get("X-Forwarded-Proto", request.scheme))),
            (b"X-Forwarded-Host", _raw(headers.get("X-Forwarded-Host", request.host))),
            (_raw(PREFIX_HEADER), _raw(prefix)),
        )
        return forwarded

    async def forward(
        self, request: web.Request, service: str, path: str, *, prefix: str = ""
    ) -> web.StreamResponse:
        """Serve ``request`` from a node of ``service``, asking it for ``path`` (already
        URL-encoded, with the request's query appended); ``prefix`` is the base path the
        client sees the service under (``/greeter``), sent as ``X-Forwarded-Prefix``."""
        query = request.rel_url.raw_query_string
        target = f"{path or '/'}?{query}" if query else path or "/"
        if _is_websocket(request):
            return await self._relay(request, service, target, prefix)
        return await self._http(request, service, target, prefix)

    async def _open(self, service: str, opening: Callable[[Node], Awaitable[T]]) -> tuple[Node, T]:
        """``opening(node)`` on a node of ``service``: a node that refuses the connection or
        drains is marked and the next one tried; a timeout or any other failure is final."""
        tried: list[str] = []
        task = asyncio.current_task()
        assert task is not None, "the proxy runs in a task"
        deadlines = self._deadlines
        while True:
            node = await self._select(service, tried)
            cancelling = task.cancelling()
            deadlines.track(task, time.monotonic() + self.timeout)
            try:
                opened = await opening(node)
            except asyncio.CancelledError:
                if not deadlines.timed_out(task, cancelling):
                    raise  # cancelled by someone else (the client went away), or by both
                self.selector.mark(service, node, None)  # slow is not dead: keep it in rotation
                raise errors.GatewayTimeout(
                    f"{service}: node {node.id} at {node.address} did not answer within {self.timeout:g}s",
                    id="micro.proxy",
                ) from None
            except (_Unreachable, aiohttp.ClientConnectorError) as exc:  # nothing was sent: try elsewhere
                self._failed(service, node, f"could not be reached ({exc})")
            except _Draining:
                self._failed(service, node, "is draining")
            except aiohttp.WSServerHandshakeError as exc:
                raise errors.BadGateway(
                    f"{service}: node {node.id} at {node.address} refused the websocket "
                    f"({exc.status} {exc.message})",
                    id="micro.proxy",
                ) from None
            except (aiohttp.ClientError, OSError) as exc:
                raise self._failed(
                    service, node, f"failed before answering ({type(exc).__name__}: {exc})"
                ) from None
            else:
                self.selector.mark(service, node, None)
                return node, opened
            finally:
                deadlines.untrack(task)
            tried.append(node.id)

    def _idle_connection(self, address: str) -> _Upstream | None:
        idle = self._idle.get(address)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        return None

    async def _connect(self, address: str) -> _Upstream:
        """A new connection to ``address``."""
        host, _, port = address.rpartition(":")
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await asyncio.get_running_loop().create_connection(
                    _Upstream, host.strip("[]"), int(port)
                )
        except (OSError, TimeoutError, ValueError) as exc:
            raise _Unreachable(f"{type(exc).__name__}: {exc}") from None
        return connection

    def _release(self, address: str, connection: _Upstream) -> None:
        if connection.reusable:
            self._idle.setdefault(address, []).append(connection)
        else:
            connection.close()

    async def _http(self, request: web.Request, service: str, target: str, prefix: str) -> web.StreamResponse:
        fields = self._upstream_headers(request, prefix, _FRAMED)
        body = request.content if request.body_exists else None
        method = request.method
        if body is None:
            if method in _SENDS_BODY:
                fields.append((b"Content-Length", b"0"))
        elif request.content_length is not None:
            fields.append((b"Content-Length", b"%d" % request.content_length))
        else:
            fields.append((b"Transfer-Encoding", b"chunked"))
        lines = b"".join([b"%s: %s\r\n" % field for field in fields])
        request_line = _raw(f"{method} {target} HTTP/1.1\r\nHost: ")

        async def opening(node: Node) -> _Upstream:
            for fresh in (False, True):
                idle = None if fresh else self._idle_connection(node.address)
                reused = idle is not None
                connection = idle or await self._connect(node.address)
                try:
                    connection.begin(head=method == "HEAD")
                    connection.send(b"%s%s\r\n%s\r\n" % (request_line, _raw(node.address), lines))
                    if body is not None:
                        await _send_body(connection, body, chunked=request.content_length is None)
                    await connection.ready
                    break
                except ConnectionError:
                    connection.close()
                    if reused and body is None:
                        continue  # the node closed the idle connection as it was reused: once more, anew
                    raise
                except BaseException:
                    connection.close()
                    raise
            if connection.status == 503 and DRAINING_HEADER in connection.headers and body is None:
                self._release(node.address, connection)
                raise _Draining
            return connection

        node, upstream = await self._open(service, opening)
        try:
            return await self._respond(request, upstream, service, node)
        finally:
            self._release(node.address, upstream)

    async def _respond(
        self, request: web.Request, upstream: _Upstream, service: str, node: Node
    ) -> web.StreamResponse:
        """Send the node's response on: whole when small and sized, streamed otherwise."""
        header = _forwardable(upstream.headers)
        length = header.get("Content-Length", "")
        if length.isdigit() and int(length) <= _WHOLE_BODY and request.method != "HEAD":
            parts = [upstream.body()]  # usually all of it: a small body comes with the head
            try:
                while not upstream.complete and (chunk := await upstream.chunk()) is not None:
                    parts.append(chunk)
            except OSError as exc:
                raise self._failed(service, node, f"failed while answering ({exc})") from None
            del header["Content-Length"]
            return web.Response(
                status=upstream.status, reason=upstream.reason, headers=header, body=b"".join(parts)
            )
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=header)
        await response.prepare(request)
        try:
            while (chunk := await upstream.chunk()) is not None:
                await response.write(chunk)
        except OSError as exc:
            # The status line is sent: the only honest signal left is a cut connection.
            log.warning("%s: node %s at %s failed mid-response: %s", service, node.id, node.address, exc)
            self.selector.mark(service, node, errors.BadGateway(str(exc)))
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response

    # --- websockets ----------------------------------------------------------------------

    async def _relay(
        self, request: web.Request, service: str, target: str, prefix: str
    ) -> web.StreamResponse:
        """Open the backend's websocket first (so a failure is still an HTTP error), then
        accept the client's and pass frames both ways until either side closes."""
        fields = self._upstream_headers(request, prefix, _HANDSHAKE)
        header = CIMultiDict([(_text(name), _text(value)) for name, value in fields])
        protocols = [
            p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()
        ]

        async def opening(node: Node) -> aiohttp.ClientWebSocketResponse:
            url = URL(f"ws://{node.address}{target}", encoded=True)
            return await self._client().ws_connect(url, headers=header, protocols=protocols)

        node, backend = await self._open(service, opening)
        client = web.WebSocketResponse(protocols=[backend.protocol] if backend.protocol else ())
        try:
            await client.prepare(request)
            await asyncio.gather(
                _pipe(backend, client, f"{service} node {node.id} went away"),
                _pipe(client, backend, "the client went away"),
            )
        finally:
            await backend.close()
            await client.close()
        return client


async def _pipe(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    gone: str,
) -> None:
    """Copy frames from ``source`` to ``sink``. When ``source`` closes, close ``sink`` with the
    same code and reason; when it breaks without a close frame, with 1011 and ``gone``."""
    while True:
        message = await source.receive()
        kind = message.type
        try:
            if kind is aiohttp.WSMsgType.TEXT:
                await sink.send_str(message.data)
                continue
            if kind is aiohttp.WSMsgType.BINARY:
                await sink.send_bytes(message.data)
                continue
        except ConnectionError:
            return  # the sink is closing; its own pipe ends this one
        break
    if sink.closed:
        return  # the other pipe closed both
    if kind is aiohttp.WSMsgType.CLOSE and message.data not in (1005, 1006):
        await sink.close(code=message.data, message=_reason(message.extra or "").encode())
    else:
        await sink.close(code=_BACKEND_GONE, message=_reason(gone).encode())


async def _send_body(connection: _Upstream, body: aiohttp.StreamReader, *, chunked: bool) -> None:
    """Stream the client's body to the node as it arrives, in chunked framing if it has no length."""
    async for chunk in body.iter_any():
        await connection.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
    if chunked:
        await connection.write(b"0\r\n\r\n")
