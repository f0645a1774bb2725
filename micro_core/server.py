"""The RPC server: routes each inbound message to a handler method and replies.

One call's way through it: the transport hands over a message → ``unary`` finds the
route by ``Micro-Endpoint`` → the wrapped handler chain (built once at start from
plugins' ``micro_wrap_handler``) → decode, call the method under the caller's
deadline, encode. Every failure becomes a typed error in ``Micro-Error``, so a bad
request never costs more than its own reply.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from micro_core import context, errors, headers
from micro_core.deadlines import Deadlines
from micro_core.handler import Kind, Route, routes_of
from micro_core.plugins import DriverNotFound
from micro_core.transport import EndOfStream, Listener, Message, Stream, Transport

if TYPE_CHECKING:
    from micro_core.codec import Codec
    from micro_core.hookspecs import HandlerFunc
    from micro_core.options import Options
    from micro_core.plugins import Plugins

log = logging.getLogger("micro.server")


def error_reply(error: errors.MicroError) -> Message:
    return Message({headers.ERROR: error.to_json().decode()})


def _deadline_from(header: dict[str, str]) -> float | None:
    timeout = header.get(headers.TIMEOUT)
    if not timeout:
        return None
    try:
        return time.monotonic() + int(timeout) / 1e9
    except ValueError:
        return None


class Server:
    """Serves the routes of one service over its transport; implements ``ServerHandler``."""

    def __init__(self, name: str, transport: Transport, plugins: Plugins, options: Options) -> None:
        self.name = name
        self.transport = transport
        self.plugins = plugins
        self.options = options
        self.routes: dict[str, Route] = {}
        self._chains: dict[str, HandlerFunc] = {}
        self._listener: Listener | None = None
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._draining = False
        self._deadlines = Deadlines()
        self.started = time.time()
        self.requests = 0
        self.errors = 0

    @property
    def address(self) -> str:
        if self._listener is None:
            raise RuntimeError("the server is not started")
        return self._listener.address

    def handle(self, handler: object, name: str | None = None) -> list[Route]:
        """Add the public async methods of ``handler`` as endpoints."""
        added = routes_of(handler, name)
        for route in added:
            if route.name in self.routes:
                raise ValueError(f"endpoint {route.name} is already served")
            self.routes[route.name] = route
        return added

    def codec(self, content_type: str | None) -> Codec:
        """The codec for a request's content type; 415 naming the ``pip install`` if none is installed."""
        try:
            return self.plugins.codec(content_type or self.options["content_type"], self.options)
        except DriverNotFound as exc:
            raise errors.UnsupportedMediaType(str(exc), id=self.name) from None

    def build(self) -> None:
        """Compose each unary endpoint's handler chain once, so wrappers cost nothing per call."""
        self._chains = {
            name: self.plugins.wrap_handler(self.name, name, self._invoker(route), self.options)
            for name, route in self.routes.items()
            if route.kind is Kind.UNARY
        }

    async def start(self, address: str) -> str:
        self.build()
        self._draining = False
        self._listener = await self.transport.listen(address, self)
        return self._listener.address

    async def drain(self, grace: float) -> bool:
        """Refuse new calls (503, retried elsewhere by clients) and wait for in-flight ones."""
        self._draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            log.warning("%s: %d calls still running after %.1fs grace", self.name, self._inflight, grace)
            return False
        return True

    async def stop(self) -> None:
        await self._deadlines.close()
        if self._listener is not None:
            await self._listener.close()
            self._listener = None

    # --- ServerHandler ---------------------------------------------------------------

    async def unary(self, request: Message) -> Message:
        header = request.header
        endpoint = header.get(headers.ENDPOINT) or header.get(headers.METHOD, "")
        chain = self._chains.get(endpoint)
        refusal = self._admit(endpoint, chain is not None, "")
        if refusal is not None:
            return error_reply(refusal)
        assert chain is not None
        try:
            return await chain(request)
        except errors.MicroError as exc:
            self.errors += 1
            return error_reply(errors.attributed(exc, self.name))
        except Exception as exc:
            self.errors += 1
            log.exception("%s: handler %s failed", self.name, endpoint)
            return error_reply(errors.InternalServerError(f"{type(exc).__name__}: {exc}", id=self.name))
        finally:
            self._done()

    def _admit(self, endpoint: str, found: bool, wrong_kind: str) -> errors.MicroError | None:
        """Every unary call and stream comes in here: None admits it (and counts it in flight),
        else the error to answer with: no such endpoint, the wrong kind, or draining (503)."""
        self.requests += 1
        refusal: errors.MicroError | None = None
        if not found:
            refusal = self._no_route(endpoint)
        elif wrong_kind:
            refusal = errors.BadRequest(wrong_kind, id=self.name)
        elif self._draining:
            refusal = errors.ServiceUnavailable(f"{self.name} is shutting down", id=self.name)
        if refusal is not None:
            self.errors += 1
            return refusal
        self._inflight += 1
        self._idle.clear()
        return None

    def _done(self) -> None:
        self._inflight -= 1
        if not self._inflight:
            self._idle.set()

    def _no_route(self, endpoint: str) -> errors.MicroError:
        if not endpoint:
            return errors.BadRequest("request names no endpoint (Micro-Endpoint header)", id=self.name)
        return errors.NotFound(f"{self.name} has no endpoint {endpoint}", id=self.name)

    def _invoker(self, route: Route) -> HandlerFunc:
        """The innermost layer of a unary endpoint: decode, call under the deadline, encode."""
        func = route.func
        deadlines = self._deadlines
        request_type = route.request_type
        takes_request = request_type is not None

        async def invoke(request: Message) -> Message:
            header = request.header
            codec = self.codec(header.get(headers.CONTENT_TYPE))
            until = _deadline_from(header)
            context.enter(header, until)
            args = (codec.decode(request.body, request_type),) if takes_request else ()
            if until is None:
                result = await func(*args)
            else:
                task = asyncio.current_task()
                assert task is not None, "a handler runs in a task"
                cancelling = task.cancelling()
                deadlines.track(task, until)
                try:
                    result = await func(*args)
                except asyncio.CancelledError:
                    if not deadlines.timed_out(task, cancelling):
                        raise
                    raise errors.Timeout(
                        f"{route.name} exceeded the caller's deadline", id=self.name
                    ) from None
                finally:
                    deadlines.untrack(task)
            return Message({headers.CONTENT_TYPE: codec.content_type}, codec.encode(result))

        return invoke

    async def stream(self, request: Message, stream: Stream) -> None:
        header = request.header
        endpoint = header.get(headers.ENDPOINT) or header.get(headers.METHOD, "")
        route = self.routes.get(endpoint)
        wrong_kind = "" if route is None or route.kind.streams else f"{endpoint} is not a stream"
        refusal = self._admit(endpoint, route is not None, wrong_kind)
        if refusal is not None:
            await stream.close(error_reply(refusal))
            return
        assert route is not None
        try:
            await self._serve_stream(route, request, stream)
        except errors.MicroError as exc:
            self.errors += 1
            await stream.close(error_reply(errors.attributed(exc, self.name)))
        except Exception as exc:
            self.errors += 1
            log.exception("%s: stream %s failed", self.name, endpoint)
            await stream.close(
                error_reply(errors.InternalServerError(f"{type(exc).__name__}: {exc}", id=self.name))
            )
        finally:
            self._done()

    async def _serve_stream(self, route: Route, request: Message, stream: Stream) -> None:
        codec = self.codec(request.header.get(headers.CONTENT_TYPE))
        context.enter(request.header, _deadline_from(request.header))
        if route.kind is Kind.SERVER_STREAM:
            args = (codec.decode(request.body, route.request_type),) if route.request_type is not None else ()
            replies = route.func(*args)
        else:
            replies = route.func(_inbound(codec, route.request_type, request, stream))
        reply_header = {headers.CONTENT_TYPE: codec.content_type}
        async for reply in replies:
            await stream.send(Message(dict(reply_header), codec.encode(reply)))
        await stream.close_send()


async def _inbound(codec: Codec, type_: Any, first: Message, stream: Stream) -> AsyncIterator[Any]:
    """Decoded messages of a client stream; an empty opening message carries no item."""
    if first.body:
        yield codec.decode(first.body, type_)
    while True:
        try:
            message = await stream.recv()
        except EndOfStream:
            return
        yield codec.decode(message.body, type_)
