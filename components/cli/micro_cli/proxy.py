"""``micro --proxy URL``: the CLI reaches the registry, services and broker only through a sidecar.

On a machine that should not (or cannot) reach the registry, the commands work
unchanged against a ``micro sidecar`` that can: the session swaps its registry,
transport and broker for the three drivers here, and everything above them (the
selector with its version filters, the codec, call wrappers, error handling) stays
the kernel's own. Each driver speaks the sidecar's HTTP API:

- the registry: ``GET /registry`` (``?service=``), ``POST /registry?ttl=``, ``DELETE /registry``;
- the transport: a call to the node the selector picked becomes ``POST /rpc`` with that
  ``address``, the metadata and the remaining deadline;
- the broker: ``POST /publish/<topic>``.

This module also declares the ``proxy`` and ``proxy_token`` options (a ``micro.plugins``
entry point), so ``--proxy`` is a global flag and ``MICRO_PROXY`` its variable. It
imports only the kernel and the standard library: every autoloaded plugin module is
imported by every micro process.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from micro_core import Broker, Registry, Transport, errors, headers, hookimpl
from micro_core.broker import BrokerError, EventHandler, Subscription
from micro_core.registry import QueueWatcher, RegistryUnavailable, Service, ServiceNotFound, Watcher
from micro_core.transport import Connection, Listener, Message, Stream
from micro_core.transport.base import ServerHandler

if TYPE_CHECKING:
    from micro_core import Options

#: Seconds a registry or broker request to the sidecar may take.
TIMEOUT = 10.0
#: The sidecar publishes header ``Micro-Metadata-<Key>`` as the message's metadata ``<Key>``.
METADATA_PREFIX = "Micro-Metadata-"


@hookimpl
def micro_add_options(options: Options) -> None:
    options.add(
        "proxy",
        "",
        "URL of a micro sidecar: the CLI then reaches registry, services and broker only through it",
    )
    options.add("proxy_token", "", "bearer token for the sidecar given with --proxy")


class Sidecar:
    """The sidecar's HTTP API, one blocking request at a time in a worker thread (a CLI's pace)."""

    def __init__(self, url: str, token: str = "") -> None:
        self.url = url.rstrip("/")
        self.token = token

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        timeout: float = TIMEOUT,
        fields: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """The status and body of one request; ``ConnectionError`` naming the sidecar if it is unreachable."""
        return await asyncio.to_thread(self._send, method, path, body, timeout, fields or {})

    def _send(
        self, method: str, path: str, body: bytes | None, timeout: float, fields: dict[str, str]
    ) -> tuple[int, bytes]:
        import urllib.error  # here: urllib.request imports ssl, and this module is imported by every process
        import urllib.request

        request = urllib.request.Request(self.url + path, data=body, method=method, headers=fields)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ConnectionError(f"the sidecar at {self.url} is unreachable: {reason}") from None

    def error(self, status: int, body: bytes) -> errors.MicroError:
        """The micro error a non-2xx answer carries (its body), or one built from the status."""
        error = errors.parse(body)
        if error.code != status:  # not a micro error body: a proxy or server in between answered
            return errors.from_code(status, body.decode(errors="replace").strip(), id=self.url)
        return error


class ProxyRegistry(Registry):
    """The registry as the sidecar sees it; it offers no watch, so the selector's cache
    only expires (a CLI command is over long before that matters)."""

    name = "proxy"

    def __init__(self, sidecar: Sidecar) -> None:
        super().__init__(sidecar.url)
        self.sidecar = sidecar

    async def _ask(self, method: str, path: str, body: bytes | None = None) -> bytes:
        try:
            status, answer = await self.sidecar.request(method, path, body)
        except ConnectionError as exc:
            raise RegistryUnavailable(str(exc)) from None
        if status >= 300:
            raise self.sidecar.error(status, answer)
        return answer

    async def register(self, service: Service, ttl: float = 0) -> None:
        query = f"?ttl={ttl:g}" if ttl else ""
        await self._ask("POST", "/registry" + query, _encode(service))

    async def deregister(self, service: Service) -> None:
        await self._ask("DELETE", "/registry", _encode(service))

    async def get_service(self, name: str) -> list[Service]:
        try:
            answer = await self._ask("GET", "/registry?" + urlencode({"service": name}))
        except errors.NotFound as exc:
            raise ServiceNotFound(exc.detail, id=exc.id) from None
        return [Service.from_dict(item) for item in json.loads(answer)]

    async def list_services(self) -> list[Service]:
        return [Service.from_dict(item) for item in json.loads(await self._ask("GET", "/registry"))]

    def watch(self, service: str | None = None) -> Watcher:
        return QueueWatcher(service)


class ProxyConnection(Connection):
    """Calls to one node, each made by the sidecar (``POST /rpc`` with the node's address)."""

    def __init__(self, sidecar: Sidecar, address: str) -> None:
        self.sidecar = sidecar
        self.address = address
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def call(self, request: Message, timeout: float | None = None) -> Message:
        header = request.header
        content_type = header.get(headers.CONTENT_TYPE, "application/json")
        if "json" not in content_type:
            raise errors.UnsupportedMediaType(
                f"--proxy carries JSON requests only, not {content_type}", id="micro.cli.proxy"
            )
        call: dict[str, object] = {
            "service": header.get(headers.SERVICE, ""),
            "endpoint": header.get(headers.ENDPOINT, ""),
            "request": request.body.decode() or "null",
            "address": self.address,
            "metadata": {k: v for k, v in header.items() if k not in headers.RESERVED},
        }
        if timeout is not None:
            call["timeout"] = timeout
        status, body = await self.sidecar.request(
            "POST", "/rpc", json.dumps(call).encode(), timeout=(timeout or TIMEOUT) + 1
        )
        if status >= 300:
            return Message({headers.ERROR: self.sidecar.error(status, body).to_json().decode()})
        return Message({headers.CONTENT_TYPE: "application/json"}, body)

    async def stream(self, request: Message) -> Stream:
        raise errors.BadRequest(
            "streams do not go through --proxy: call the service directly", id="micro.cli.proxy"
        )

    async def close(self) -> None:
        self._closed = True


class ProxyTransport(Transport):
    """Dials nothing: a "connection" to a node is the sidecar calling that node."""

    name = "proxy"

    def __init__(self, sidecar: Sidecar) -> None:
        super().__init__()
        self.sidecar = sidecar

    async def dial(self, address: str, timeout: float | None = None) -> Connection:
        return ProxyConnection(self.sidecar, address)

    async def listen(self, address: str, handler: ServerHandler) -> Listener:
        raise ConnectionError("nothing is served through --proxy")


class ProxyBroker(Broker):
    """Publishes through the sidecar; subscribing needs a connection the CLI does not keep."""

    name = "proxy"

    def __init__(self, sidecar: Sidecar) -> None:
        super().__init__(sidecar.url)
        self.sidecar = sidecar

    async def publish(self, topic: str, message: Message) -> None:
        path = "/publish/" + quote(topic, safe="")
        metadata = {
            METADATA_PREFIX + name: value
            for name, value in message.header.items()
            if name not in headers.RESERVED
        }
        try:
            status, body = await self.sidecar.request("POST", path, message.body, fields=metadata)
        except ConnectionError as exc:
            raise BrokerError(str(exc)) from None
        if status >= 300:
            raise self.sidecar.error(status, body)

    async def subscribe(
        self, topic: str, handler: EventHandler, *, queue: str | None = None, auto_ack: bool = True
    ) -> Subscription:
        raise errors.BadRequest(
            f"subscribe does not go through --proxy: read {self.sidecar.url}/events?topic={topic}",
            id="micro.cli.proxy",
        )


def _encode(service: Service) -> bytes:
    return json.dumps(service.to_dict()).encode()


__all__ = [
    "METADATA_PREFIX",
    "TIMEOUT",
    "ProxyBroker",
    "ProxyConnection",
    "ProxyRegistry",
    "ProxyTransport",
    "Sidecar",
    "micro_add_options",
]
