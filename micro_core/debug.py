"""The ``Debug`` handler every service answers: ``Debug.Health`` and ``Debug.Stats``."""

from __future__ import annotations

import gc
import resource
import threading
import time
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from micro_core.server import Server


class Health(msgspec.Struct):
    status: str


class Stats(msgspec.Struct):
    """Go Micro's stats fields; ``memory`` is the resident set size in bytes."""

    timestamp: int
    started: int
    uptime: int
    memory: int
    threads: int
    gc: int
    requests: int
    errors: int


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Debug:
    """Answers health checks and reports the server's counters."""

    def __init__(self, server: Server) -> None:
        self._server = server

    async def health(self) -> Health:
        return Health(status="ok")

    async def stats(self) -> Stats:
        now = time.time()
        server = self._server
        return Stats(
            timestamp=int(now),
            started=int(server.started),
            uptime=int(now - server.started),
            memory=_rss_bytes(),
            threads=threading.active_count(),
            gc=sum(generation["collections"] for generation in gc.get_stats()),
            requests=server.requests,
            errors=server.errors,
        )
