"""The ``Debug`` handler every service answers: ``Debug.Health`` and ``Debug.Stats``.

``Debug.Health`` runs the service's health checks (:mod:`micro_core.health`) and
reports each one with the overall status; a service without checks answers ``ok``
as Go Micro's does.
"""

from __future__ import annotations

import gc
import resource
import threading
import time
from typing import TYPE_CHECKING

import msgspec

from micro_core.health import Checks, CheckStatus, summary

if TYPE_CHECKING:
    from micro_core.server import Server


class Health(msgspec.Struct, omit_defaults=True):
    """``status`` is ``ok``, ``not_ready`` (a check failed) or ``failing`` (a liveness check failed);
    without checks it is ``{"status": "ok"}``, as Go Micro answers."""

    status: str
    live: bool = True
    ready: bool = True
    checks: list[CheckStatus] = msgspec.field(default_factory=list)


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

    def __init__(self, server: Server, checks: Checks | None = None) -> None:
        self._server = server
        self._checks = Checks() if checks is None else checks

    async def health(self) -> Health:
        statuses = await self._checks.run()
        live, ready, status = summary(statuses)
        return Health(status=status, live=live, ready=ready, checks=statuses)

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
