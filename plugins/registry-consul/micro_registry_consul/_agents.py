"""The Consul agents a registry talks to: one py-consul client each, with fail-over.

Requests go to the agent that answered last; when it cannot be reached the next one
is tried, and only when none answers does the call fail, with
:class:`~micro_core.registry.RegistryUnavailable` naming every address tried. An
agent that answers with an HTTP error has been reached: its error is the caller's
(an ACL refusal as :class:`PermissionError`).

py-consul's asyncio client builds its aiohttp connector with arguments aiohttp has
deprecated (they warn), so :class:`_HTTPClient` keeps its request methods and only
replaces how the session is made.

Closing a watch cancels its blocking query, and aiohttp then closes that connection
politely; over TLS that waits for the agent's own close, which Consul only sends when
the query ends, up to 30 s later. :class:`_Connector` aborts such connections when the
registry closes, so none outlives it (nor the event loop).
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import aiohttp.tracing
import consul.aio  # type: ignore[import-untyped]
import consul.base  # type: ignore[import-untyped]

from micro_core.registry import RegistryUnavailable
from micro_core.tls import client_context

T = TypeVar("T")

DEFAULT_ADDRESS = "127.0.0.1:8500"

#: What says "this agent cannot be reached" rather than "this agent said no".
_UNREACHABLE = (aiohttp.ClientConnectionError, TimeoutError, OSError)


@dataclass(frozen=True)
class TLS:
    """How to check the agents' certificates and prove our own."""

    ca: str = ""
    cert: str = ""
    key: str = ""
    verify: bool = True

    def context(self) -> ssl.SSLContext:
        return client_context(self.ca, self.cert, self.key, verify=self.verify)


@dataclass(frozen=True)
class AgentAddress:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_addresses(text: str, scheme: str = "http") -> list[AgentAddress]:
    """``host:port[,host:port…]``, each optionally ``http://`` or ``https://``; empty: the local agent."""
    addresses = []
    for part in (p.strip() for p in (text or DEFAULT_ADDRESS).split(",")):
        if not part:
            continue
        this_scheme, sep, rest = part.partition("://")
        if not sep:
            this_scheme, rest = scheme, part
        host, _, port = rest.rstrip("/").rpartition(":")
        if this_scheme not in ("http", "https") or not host or not port.isdigit():
            raise ValueError(f"Consul agent address {part!r} is not [http[s]://]host:port")
        addresses.append(AgentAddress(this_scheme, host.removeprefix("[").removesuffix("]"), int(port)))
    if not addresses:
        raise ValueError(f"no Consul agent address in {text!r}")
    return addresses


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, remembering every connection's transport to abort it on close.

    The pool forgets a connection once a cancelled request has started closing it.
    """

    def __init__(self, context: ssl.SSLContext | bool) -> None:
        super().__init__(ssl=context)
        self._transports: weakref.WeakSet[asyncio.Transport] = weakref.WeakSet()

    async def connect(
        self, req: aiohttp.ClientRequest, traces: list[aiohttp.tracing.Trace], timeout: aiohttp.ClientTimeout
    ) -> aiohttp.connector.Connection:
        connection = await super().connect(req, traces, timeout)
        if connection.transport is not None:
            self._transports.add(connection.transport)
        return connection

    async def close(self, *, abort_ssl: bool = False) -> None:
        await super().close(abort_ssl=abort_ssl)
        for transport in list(self._transports):
            transport.abort()


class _HTTPClient(consul.aio.HTTPClient):  # type: ignore[misc]
    def __init__(self, address: AgentAddress, tls: TLS) -> None:
        consul.base.HTTPClient.__init__(self, address.host, address.port, address.scheme, tls.verify)
        connector = _Connector(tls.context() if address.scheme == "https" else True)
        self._session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))


class _Consul(consul.base.Consul):  # type: ignore[misc]
    """A py-consul client over :class:`_HTTPClient`, with the token we give it and no other."""

    def __init__(self, address: AgentAddress, token: str, tls: TLS) -> None:
        self._address, self._tls = address, tls
        super().__init__(address.host, address.port, scheme=address.scheme, verify=tls.verify)
        self.token = token or None  # py-consul would prefer $CONSUL_HTTP_TOKEN over ours

    def http_connect(self, *_: Any, **__: Any) -> _HTTPClient:
        return _HTTPClient(self._address, self._tls)


class Agents:
    """Clients for each agent address; call through :meth:`call` to get fail-over.

    Build inside a running event loop: aiohttp sessions belong to one.
    """

    def __init__(self, addresses: list[AgentAddress], token: str, tls: TLS, timeout: float) -> None:
        self.addresses = addresses
        self.timeout = timeout
        self._clients = [_Consul(address, token, tls) for address in addresses]
        self._current = 0

    async def call(self, request: Callable[[Any], Awaitable[T]], timeout: float | None = None) -> T:
        """``await request(client)`` on the current agent, then on each other until one answers."""
        errors = []
        count = len(self._clients)
        for step in range(count):
            position = (self._current + step) % count
            try:
                async with asyncio.timeout(timeout or self.timeout):
                    result = await request(self._clients[position])
            except _UNREACHABLE as exc:
                errors.append(f"{self.addresses[position]}: {exc or type(exc).__name__}")
                continue
            except consul.ACLPermissionDenied as exc:
                raise PermissionError(
                    f"Consul agent {self.addresses[position]} denied the request ({exc}): "
                    "is registry_consul_token set to a token with the needed policy?"
                ) from exc
            self._current = position
            return result
        raise RegistryUnavailable("no Consul agent reachable: " + "; ".join(errors))

    async def close(self) -> None:
        for client in self._clients:
            await client.http.close()
