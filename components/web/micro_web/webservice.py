"""A web app run as a micro service: bound, registered, renewed, drained and deregistered.

Any ASGI app (FastAPI, Starlette, Django's ASGI handler, a bare callable) or aiohttp
application becomes a service named ``<web_namespace>.<name>`` (``micro.web.shop``)::

    app = Starlette(routes=[...])
    WebService("shop", app).run()

The kernel's :class:`~micro_core.Service` does what it does for RPC services (options,
registration with a TTL and its renewal, ``Debug.Health`` and ``Debug.Stats``, health
checks, plugins' lifecycle hooks); the only difference is the address it publishes:
the app's HTTP address, where the gate (:mod:`micro_web.gate`) also answers micro
calls. On SIGTERM the node is deregistered first, new requests are refused with 503
(the proxy goes elsewhere) while those in flight finish, then everything closes.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from micro_core import Options, Plugins, Service
from micro_core.transport.http import join_address, split_address
from micro_web import plugin
from micro_web._aiohttp import AiohttpServer
from micro_web._asgi import AsgiServer
from micro_web.gate import Gate

log = logging.getLogger("micro.web")

#: Node and service metadata that marks a web service, whatever its namespace.
WEB_METADATA = "web"


def _listen(address: str) -> socket.socket:
    """A listening socket on ``address`` ("host:port"; port 0 picks a free one)."""
    host, port = split_address(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _advertised(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = socket.gethostbyname(socket.gethostname())  # a wildcard is no address to call
    return join_address(host, port)


class WebService(Service):
    """An ASGI or aiohttp app served as the micro service ``<namespace>.<name>``.

    A :class:`~micro_core.Service` whose published address is the app's: ``run()``,
    ``serve()``, ``async with``, handlers, subscribers and health checks work as for any
    service; ``start`` and ``stop`` add the app's server around the kernel's own steps.

    :param app: an :class:`aiohttp.web.Application`, or any ASGI callable.
    :param namespace: the registry namespace (default: the ``web_namespace`` option,
        ``micro.web``; ``MICRO_WEB_NAMESPACE``).
    :param settings: options as for :class:`~micro_core.Service` (``registry="consul"``,
        ``web_server_address="127.0.0.1:8090"``…); flags and ``MICRO_*`` variables win.
    """

    def __init__(
        self,
        name: str,
        app: Any,
        version: str = "latest",
        *,
        metadata: Mapping[str, str] | None = None,
        namespace: str | None = None,
        handlers: tuple[object, ...] = (),
        plugins: Plugins | None = None,
        flags: Mapping[str, Any] | None = None,
        options: Options | None = None,
        **settings: Any,
    ) -> None:
        plugins = plugins or Plugins()
        if not plugins.is_registered(plugin):
            plugins.register(plugin, "web")
        options = options or Options(code=settings, flags=flags)
        plugins.add_options(options)
        namespace = options["web_namespace"] if namespace is None else namespace
        super().__init__(
            f"{namespace}.{name}" if namespace else name,
            version,
            metadata={**(metadata or {}), WEB_METADATA: "true"},
            handlers=handlers,
            plugins=plugins,
            options=options,
        )
        self.gate = Gate(self.server)
        grace = options["shutdown_grace"]
        if isinstance(app, web.Application):
            self._app: AiohttpServer | AsgiServer = AiohttpServer(app, self.gate, grace)
        elif callable(app):
            self._app = AsgiServer(app, self.gate, grace)
        else:
            raise TypeError(f"{name}: {app!r} is neither an ASGI app nor an aiohttp web.Application")

    async def start(self) -> None:
        """Listen and start the app, then start as a service, published at the app's address."""
        sock = _listen(self.options["web_server_address"])
        try:
            await self._app.start(sock)
            self.options.flags["server_advertise"] = self.options["web_server_advertise"] or _advertised(sock)
            await super().start()
        except BaseException:
            await self._app.stop()
            sock.close()
            raise
        log.info("%s serving http://%s", self.name, self.address)

    async def stop(self) -> None:
        """Deregister, refuse new requests while those in flight finish, then close."""
        try:
            await self.registry.deregister(self.entry())
        except Exception as exc:  # the kernel's stop deregisters again and says so if it fails
            log.debug("%s: early deregistration failed: %s", self.name, exc)
        await self.gate.drain(self.options["shutdown_grace"])
        try:
            await super().stop()
        finally:
            await self._app.stop()


__all__ = ["WEB_METADATA", "WebService"]
