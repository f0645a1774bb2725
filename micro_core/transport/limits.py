"""What one client may hold of a server: header size and count, time, and connections.

Without these a handful of slow or malicious clients can pin a server's memory
(headers that never end) or its file descriptors (connections that never send).
The defaults are generous enough for every honest client; in particular idle
connections are kept longer than Go's ``http.Transport`` keeps its pooled ones
(90 s), so a Go Micro client never reuses a connection the server is closing.
"""

from __future__ import annotations

from dataclasses import dataclass

from micro_core.options import Options


@dataclass(frozen=True)
class ServerLimits:
    """Limits a transport's server applies to each client connection."""

    #: Bytes of request line and headers (Go's ``http.DefaultMaxHeaderBytes``); beyond: 431.
    max_header_bytes: int = 1 << 20
    #: Header fields in one request; beyond: 431.
    max_headers: int = 256
    #: Seconds from a request's first byte to the end of its headers; beyond: 408 and hang up.
    header_timeout: float = 10.0
    #: Seconds from a request's first byte to its last; beyond: 408 and hang up.
    read_timeout: float = 60.0
    #: Seconds a connection with nothing in flight stays open.
    idle_timeout: float = 120.0
    #: Open connections per listener; one more is answered 503 and closed.
    max_connections: int = 10_000

    @classmethod
    def from_options(cls, options: Options) -> ServerLimits:
        return cls(
            max_header_bytes=options["server_max_header_bytes"],
            read_timeout=options["server_read_timeout"],
            idle_timeout=options["server_idle_timeout"],
            max_connections=options["server_max_connections"],
        )

    @property
    def sweep_interval(self) -> float:
        """How often a server looks for clients past a timeout: a fraction of the shortest one."""
        return min(1.0, max(0.02, min(self.header_timeout, self.read_timeout, self.idle_timeout) / 4))


__all__ = ["ServerLimits"]
