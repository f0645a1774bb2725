"""The shared middleware: what every request at the HTTP edge goes through, in one layer.

In order: request id, CORS preflight, body limit (413), authentication (401), the
per-client rate limit (429, per authenticated subject, else per address), the
deadline (504), then the handler; every failure is rendered
as a micro error (:mod:`micro_http.render`), and every request leaves one structured
access-log line. It is one middleware rather than a chain of seven because each
aiohttp middleware layer costs a coroutine frame per request, and the gateway's
benchmark allows the whole edge 30% over aiohttp's bare handler.

Response headers (``X-Request-Id``, ``Server-Timing``, CORS) are added when the
response is prepared, so streamed responses and websockets get them too.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

import msgspec
from aiohttp import web

from micro_core import Plugins, context, errors
from micro_core.deadlines import Deadlines
from micro_http.auth import SUBJECT, Authenticator, BearerAuth, Identity
from micro_http.render import as_error, error_response
from micro_http.settings import HttpSettings

access_log = logging.getLogger("micro.http.access")
log = logging.getLogger("micro.http")


class _State:
    """What the middleware knows of one request, under one request key: one dict store per
    request instead of six (each store into aiohttp's request checks its key's type)."""

    __slots__ = ("deadlines", "identity", "metadata", "request_id", "started", "task", "upstream")

    def __init__(
        self, started: float, request_id: str, metadata: dict[str, str], deadlines: Deadlines
    ) -> None:
        self.started = started
        self.request_id = request_id
        self.metadata = metadata
        self.deadlines = deadlines
        self.upstream = 0.0
        self.identity: Identity | None = None
        self.task: asyncio.Task[object] | None = None  # the handler's, once its deadline is armed


class AccessLines:
    """Access-log lines kept in memory and written with one write per batch.

    :func:`micro_http.serve.run_component` puts one on the app it serves (``app[ACCESS_LINES]``)
    and flushes it every 0.2 s: going through :mod:`logging` (a record, a formatter, a lock)
    and a write per request cost the gateway a third of its CPU per request. Without one,
    lines go to the ``micro.http.access`` logger.
    """

    def __init__(self, stream: BinaryIO, limit: int = 1024) -> None:
        self._stream = stream
        self._limit = limit
        self._lines: list[bytes] = []

    def write(self, line: bytes) -> None:
        self._lines.append(_PREFIX + line + b"\n")
        if len(self._lines) >= self._limit:
            self.flush()

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            self._stream.write(b"".join(lines))
            self._stream.flush()


#: The :class:`AccessLines` of an app, if it has one.
ACCESS_LINES = web.AppKey("micro_http.access_lines", AccessLines)
_PREFIX = b"micro.http.access: "  # as the logger's own lines read under run_component's format


_STATE = web.RequestKey("micro_http.state", _State)

#: Clients remembered by the rate limiter; beyond it the least recently seen are forgotten.
_MAX_CLIENTS = 10_000
_MAX_REQUEST_ID = 128

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def request_id(request: web.BaseRequest) -> str:
    """The request's id: the client's ``X-Request-Id`` if it sent a sane one, else a new one."""
    return request[_STATE].request_id


def identity(request: web.BaseRequest) -> Identity | None:
    """Who sent the request (None: anonymous)."""
    return request[_STATE].identity


def metadata(request: web.BaseRequest) -> dict[str, str]:
    """The call metadata for this request: ``X-Request-Id``, the chosen headers, the subject."""
    return request[_STATE].metadata


def add_upstream(request: web.BaseRequest, seconds: float) -> None:
    """Count ``seconds`` spent waiting for the upstream (the ``upstream`` part of Server-Timing)."""
    request[_STATE].upstream += seconds


def set_timeout(request: web.BaseRequest, seconds: float | None) -> None:
    """Give this request ``seconds`` from now (a route's own timeout), or no limit (None: a stream).

    The deadline is also the one every call made for this request carries.
    """
    deadline = None if seconds is None else time.monotonic() + seconds
    state = request[_STATE]
    context.enter(state.metadata, deadline)
    if state.task is not None:
        state.deadlines.track(state.task, deadline)


def _server_timing(state: _State) -> str:
    """``gateway;dur=…, upstream;dur=…`` in milliseconds, so far."""
    total = time.perf_counter() - state.started
    upstream = state.upstream
    return f"gateway;dur={(total - upstream) * 1e3:.2f}, upstream;dur={upstream * 1e3:.2f}"


class RateLimiter:
    """A token bucket per client: ``rate`` requests a second, ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(burst, 1)
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)

    def wait(self, client: str) -> float:
        """0 if ``client`` may go now (a token is taken), else seconds until it may."""
        now = time.monotonic()
        tokens, then = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if len(self._buckets) >= _MAX_CLIENTS:
            del self._buckets[next(iter(self._buckets))]  # dicts keep order: the oldest goes
        if tokens >= 1:
            self._buckets[client] = (tokens - 1, now)
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1 - tokens) / self.rate


class Cors:
    """Allowed origins, the preflight answer and the headers of an actual response."""

    def __init__(self, origins: tuple[str, ...]) -> None:
        self.any = "*" in origins
        self.origins = frozenset(origins)

    def allows(self, origin: str) -> bool:
        return self.any or origin in self.origins

    def preflight(self, request: web.BaseRequest) -> web.Response:
        origin = request.headers.get("Origin", "")
        if not self.allows(origin):
            raise errors.Forbidden(f"origin {origin!r} is not allowed", id="micro.http.cors")
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": request.headers.get("Access-Control-Request-Method", "GET"),
            "Access-Control-Allow-Headers": request.headers.get("Access-Control-Request-Headers", ""),
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        }
        return web.Response(status=204, headers=headers)

    def decorate(self, request: web.BaseRequest, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if origin and self.allows(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "X-Request-Id, Server-Timing"
            response.headers["Vary"] = "Origin"


def _new_request_id() -> str:
    return random.getrandbits(128).to_bytes(16).hex()  # as the kernel's ids: unique, not secret


class Edge:
    """The middleware and response hook for one application, built from its settings."""

    def __init__(self, settings: HttpSettings, authenticator: Authenticator | None) -> None:
        self.settings = settings
        self.authenticator = authenticator
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_burst) if settings.rate_limit else None
        self.cors = Cors(settings.cors_origins) if settings.cors_origins else None
        self.passed = tuple(settings.metadata_headers)
        # A deadline may fire a twentieth of the edge's timeout late (a route's own may be shorter).
        self.deadlines = Deadlines.for_timeout(settings.timeout)

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self.middleware)
        app.on_response_prepare.append(self._on_prepare)
        app.on_cleanup.append(self._close)

    async def _close(self, app: web.Application) -> None:
        await self.deadlines.close()

    async def _on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        state = request.get(_STATE)
        if state is None:
            return  # refused before the middleware ran (e.g. a malformed request line)
        headers = response.headers
        headers["X-Request-Id"] = state.request_id
        headers["Server-Timing"] = _server_timing(state)
        if self.cors is not None:
            self.cors.decorate(request, response)

    def _metadata(self, request: web.Request, rid: str) -> dict[str, str]:
        meta = {"X-Request-Id": rid}
        headers = request.headers
        for name in self.passed:
            value = headers.get(name)
            if value is not None:
                meta[name] = value
        return meta

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        rid = request.headers.get("X-Request-Id", "")
        if not rid or len(rid) > _MAX_REQUEST_ID or not rid.isprintable():
            rid = _new_request_id()
        state = request[_STATE] = _State(started, rid, self._metadata(request, rid), self.deadlines)
        response: web.StreamResponse | None = None
        try:
            response = await self._admit_and_handle(request, handler, state)
        except Exception as exc:
            if isinstance(exc, web.HTTPException) and exc.status < 400:
                raise  # a redirect is an answer, not a failure
            error = as_error(exc)
            if error.code >= 500 and not isinstance(exc, errors.MicroError | TimeoutError):
                log.exception("%s %s failed", request.method, request.path)
            response = error_response(error, request)
            if isinstance(error, TooManyRequests):
                response.headers["Retry-After"] = str(error.retry_after)
            elif error.code == errors.Unauthorized.code:
                response.headers["WWW-Authenticate"] = 'Bearer realm="micro"'
        finally:
            self._log(request, response, state)
        return response

    async def _admit_and_handle(
        self, request: web.Request, handler: Handler, state: _State
    ) -> web.StreamResponse:
        settings = self.settings
        if self.cors is not None and request.method == "OPTIONS" and "Origin" in request.headers:
            return self.cors.preflight(request)
        length = request.content_length
        if length is not None and length > settings.max_body:
            raise errors.PayloadTooLarge(
                f"request body of {length} bytes is over the limit of {settings.max_body}", id="micro.http"
            )
        authenticator = self.authenticator
        found = (
            await authenticator.identify(request)
            if authenticator is not None and authenticator.active
            else None
        )
        if found is not None:
            state.identity = found
            state.metadata[SUBJECT] = found.subject
        if self.limiter is not None:
            # Per client: the authenticated subject, else the peer address.
            wait = self.limiter.wait(found.subject if found is not None else request.remote or "")
            if wait:
                raise TooManyRequests(wait)
        deadline = time.monotonic() + settings.timeout
        context.enter(state.metadata, deadline)
        task = asyncio.current_task()
        assert task is not None, "aiohttp runs each request in a task"
        deadlines = self.deadlines
        cancelling = task.cancelling()
        state.task = task
        deadlines.track(task, deadline)
        try:
            return await handler(request)
        except asyncio.CancelledError:
            if deadlines.timed_out(task, cancelling):
                raise TimeoutError from None
            raise  # the client went away, or the server is stopping
        finally:
            deadlines.untrack(task)

    def _log(self, request: web.Request, response: web.StreamResponse | None, state: _State) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        elapsed = time.perf_counter() - state.started
        line = {
            "request_id": state.request_id,
            "remote": request.remote,
            "method": request.method,
            "path": request.path,
            "status": response.status if response is not None else 500,
            "ms": round(elapsed * 1e3, 3),
            "upstream_ms": round(state.upstream * 1e3, 3),
        }
        if state.identity is not None:
            line["subject"] = state.identity.subject
        encoded = msgspec.json.encode(line)
        lines = request.app.get(ACCESS_LINES)
        if lines is not None:
            lines.write(encoded)
        else:
            access_log.info(encoded.decode())


class TooManyRequests(errors.TooManyRequests):
    """A client over the edge's rate: the kernel's 429 with ``retry_after``, which the
    response sends as ``Retry-After``."""

    def __init__(self, wait: float) -> None:
        self.retry_after = max(1, int(wait + 0.999))
        super().__init__(f"rate limit exceeded: retry in {wait:.2f}s", id="micro.http.ratelimit")


def application(
    settings: HttpSettings, plugins: Plugins, *, public: tuple[str, ...] = (), **kwargs: Any
) -> web.Application:
    """An aiohttp application with the shared edge installed and the body limit set.

    :param plugins: the plugin manager whose ``micro_authenticate`` implementations are asked;
        the built-in :class:`BearerAuth` is registered on it when tokens or a JWT key are set.
    :param public: paths that never need authentication (health, readiness, docs).
    :param kwargs: passed to :class:`aiohttp.web.Application`.
    """
    if settings.tokens or settings.jwt_key:
        plugins.register(
            BearerAuth(
                tokens=settings.tokens,
                jwt_key=settings.jwt_key,
                algorithms=settings.jwt_algorithms,
                audience=settings.jwt_audience,
                issuer=settings.jwt_issuer,
            ),
            name="micro-http-bearer",
        )
    authenticator = Authenticator(plugins, required=settings.auth_required, public=public)
    app = web.Application(client_max_size=settings.max_body, **kwargs)
    Edge(settings, authenticator).install(app)
    return app


__all__ = [
    "ACCESS_LINES",
    "AccessLines",
    "Cors",
    "Edge",
    "RateLimiter",
    "TooManyRequests",
    "access_log",
    "add_upstream",
    "application",
    "identity",
    "metadata",
    "request_id",
    "set_timeout",
]
