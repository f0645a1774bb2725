"""Calls from the system to the app: each inbound call becomes ``POST <app><path>`` with JSON.

The sidecar listens on the kernel's transport (whichever one is configured) with this
handler in place of a :class:`~micro_core.Server`: the body goes to the app as it came
(JSON with the default codec), every header of the call (``Micro-*`` and the caller's
metadata) goes along as an HTTP header, and the caller's remaining deadline becomes the
request's timeout. The app answers 2xx with the reply, or an error status; a body in
micro's error shape keeps its id and detail, any other becomes the error's detail.
``Debug.Health`` is the sidecar's to answer, from the app's health check, so that
``micro health`` works on an app in any language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import aiohttp
import msgspec

from micro_core import errors, headers
from micro_core.registry import Endpoint
from micro_core.transport import Message, Stream

#: Where a call to ``Endpoint`` goes unless the endpoint names its own path: ``/Greeter.Hello``.
DEFAULT_TEMPLATE = "/{endpoint}"
#: An endpoint's metadata key holding its own path on the app (set from an OpenAPI document).
PATH = "path"
#: The endpoint every micro node answers about its health (see :mod:`micro_core.debug`).
HEALTH = "Debug.Health"
#: Headers that describe the HTTP exchange itself, never forwarded.
_HOP = frozenset({"content-length", "host", "connection", "transfer-encoding"})


def _error_of(status: int, body: bytes, app: str) -> errors.MicroError:
    """The typed error for an app's non-2xx answer."""
    error = errors.parse(body) if body.lstrip().startswith(b"{") else None
    if error is not None and error.code == status:
        error.id = error.id or app
        return error
    text = body.decode(errors="replace").strip() or f"the app answered {status}"
    return errors.from_code(status, text, id=app)


class Delivery:
    """The transport's ``ServerHandler`` for the app: a call in, an HTTP request to the app out."""

    def __init__(
        self,
        app: str,
        url: str,
        endpoints: list[Endpoint],
        http: aiohttp.ClientSession,
        *,
        template: str = DEFAULT_TEMPLATE,
        timeout: float = 30.0,
        health: Callable[[], bool] = lambda: True,
    ) -> None:
        """:param health: whether the app's last health check passed, for ``Debug.Health``."""
        self.app = app
        self.url = url.rstrip("/")
        self.template = template
        self.timeout = timeout
        self._http = http
        self._paths = {e.name: e.metadata[PATH] for e in endpoints if e.metadata.get(PATH)}
        self._known = {e.name for e in endpoints}
        self._health = health
        self.requests = 0
        self.errors = 0

    def target(self, endpoint: str) -> str:
        """The app URL a call to ``endpoint`` is delivered to."""
        path = self._paths.get(endpoint) or self.template.format(endpoint=endpoint, service=self.app)
        return self.url + path

    async def unary(self, request: Message) -> Message:
        self.requests += 1
        try:
            return await self._forward(request)
        except errors.MicroError as exc:
            self.errors += 1
            return Message({headers.ERROR: exc.to_json().decode()})

    async def _forward(self, request: Message) -> Message:
        header = request.header
        endpoint = header.get(headers.ENDPOINT) or header.get(headers.METHOD, "")
        if not endpoint:
            raise errors.BadRequest("the call names no endpoint (Micro-Endpoint header)", id=self.app)
        if endpoint == HEALTH:
            answer = (
                {"status": "ok"} if self._health() else {"status": "failing", "live": False, "ready": False}
            )
            return Message({headers.CONTENT_TYPE: "application/json"}, msgspec.json.encode(answer))
        if self._known and endpoint not in self._known:
            raise errors.NotFound(f"{self.app} has no endpoint {endpoint}", id=self.app)
        url = self.target(endpoint)
        timeout = aiohttp.ClientTimeout(total=_seconds_left(header, self.timeout))
        try:
            async with self._http.post(
                url, data=request.body, headers=_forwarded(header), timeout=timeout
            ) as response:
                body = await response.read()
                status = response.status
                content_type = response.headers.get("Content-Type", "application/json")
        except TimeoutError:
            raise errors.GatewayTimeout(
                f"the app {self.app} at {url} did not answer in time", id=self.app
            ) from None
        except aiohttp.ClientError as exc:
            raise errors.BadGateway(
                f"the app {self.app} at {url} is unreachable: {exc}", id=self.app
            ) from None
        if 200 <= status < 300:
            return Message({headers.CONTENT_TYPE: content_type.split(";")[0].strip()}, body)
        raise _error_of(status, body, self.app)

    async def stream(self, request: Message, stream: Stream) -> None:
        error = errors.BadRequest(f"the app {self.app} behind a sidecar serves no streams", id=self.app)
        await stream.close(Message({headers.ERROR: error.to_json().decode()}))


def _forwarded(header: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in header.items() if name.lower() not in _HOP}


def _seconds_left(header: Mapping[str, str], default: float) -> float:
    """The caller's remaining deadline (``Timeout`` header, nanoseconds), else ``default``."""
    text = header.get(headers.TIMEOUT)
    if text and text.isdigit():
        return max(int(text) / 1e9, 0.001)
    return default


__all__ = ["DEFAULT_TEMPLATE", "HEALTH", "PATH", "Delivery"]
