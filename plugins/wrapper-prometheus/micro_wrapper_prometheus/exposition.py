"""The ``/metrics`` endpoint, on its own port, and the switch that makes the wrappers count.

Counting starts with the endpoint: a service of a development venv that has the plugin
installed but no ``metrics_address`` counts nothing (its wrappers pass calls straight
through) and imports nothing of prometheus_client (~0.1 s). The endpoint runs in
prometheus_client's own thread, off the event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from micro_core.transport.http import join_address, split_address

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer


class _Switch:
    """Whether the wrappers count; read per message (one attribute look-up)."""

    on = False


switch = _Switch()


class MetricsServer:
    """``/metrics`` of this process on ``address`` (``host:port``; port 0 picks a free one)."""

    def __init__(self, address: str) -> None:
        from prometheus_client import start_http_server

        host, port = split_address(address)
        self._server: WSGIServer
        self._server, self._thread = start_http_server(port, host or "127.0.0.1")
        self.address = join_address(host or "127.0.0.1", self._server.server_port)
        switch.on = True

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


__all__ = ["MetricsServer", "switch"]
