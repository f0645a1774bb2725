"""Health checks a service registers, and what they add up to: live, ready, or neither.

Two kinds, as orchestrators distinguish them:

- a **readiness** check failing means "send me no calls for now" (the database is
  unreachable, the queue is disconnected): the node stays up, says ``ready=false`` in
  its registry metadata, and selectors pass it over until the check passes again;
- a **liveness** check failing means "this process is broken, restart it": it also
  makes the node not ready, and ``Debug.Health`` reports ``failing``.

A check is a function, sync or async, that returns normally when healthy and raises
(or returns ``False``) when not; the exception's text is the reason shown by
``micro health``::

    service = Service("orders")

    @service.health.check("database")
    async def database() -> None:
        await pool.execute("SELECT 1")

Plugins contribute checks through the ``micro_health_checks`` hook. A service without
checks runs no checker and adds nothing to its registration.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import msgspec

from micro_core.plugins import await_me_maybe as _await_me_maybe

#: Node metadata key that carries readiness; a node without it (Go Micro, no checks) is ready.
READY = "ready"

#: A health check: returns normally (or anything but ``False``) when healthy, raises when not.
CheckFunc = Callable[[], "Awaitable[object] | object"]


class Kind(StrEnum):
    """What a failing check means for the node."""

    READINESS = "readiness"
    LIVENESS = "liveness"


class CheckStatus(msgspec.Struct):
    """One check's latest outcome, as ``Debug.Health`` reports it."""

    name: str
    kind: str
    ok: bool
    error: str = ""
    ms: float = 0.0


@dataclass(frozen=True, slots=True)
class _Check:
    name: str
    kind: Kind
    func: CheckFunc


class Checks:
    """The checks of one service; runs them all at once, each bounded by ``timeout`` seconds."""

    def __init__(self, timeout: float = 2.0) -> None:
        self.timeout = timeout
        self._checks: dict[str, _Check] = {}

    def add(self, name: str, func: CheckFunc, kind: Kind | str = Kind.READINESS) -> None:
        """Register ``func`` as the check ``name``; a second check of the same name is an error."""
        if name in self._checks:
            raise ValueError(f"health check {name!r} is already registered")
        if not callable(func):
            raise TypeError(f"health check {name!r} must be callable, not {type(func).__name__}")
        self._checks[name] = _Check(name, Kind(kind), func)

    def check(self, name: str, *, kind: Kind | str = Kind.READINESS) -> Callable[[CheckFunc], CheckFunc]:
        """Decorator form of :meth:`add`."""

        def register(func: CheckFunc) -> CheckFunc:
            self.add(name, func, kind)
            return func

        return register

    def __len__(self) -> int:
        return len(self._checks)

    def __iter__(self) -> Iterator[str]:
        return iter(self._checks)

    async def run(self) -> list[CheckStatus]:
        """Every check's outcome now, in registration order."""
        return list(await asyncio.gather(*(self._run(check) for check in self._checks.values())))

    async def _run(self, check: _Check) -> CheckStatus:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                result = await _await_me_maybe(check.func)
            error = "check returned False" if result is False else ""
        except TimeoutError:
            error = f"no answer within {self.timeout:.3g}s"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        ms = round((time.perf_counter() - started) * 1000, 3)
        return CheckStatus(check.name, check.kind.value, not error, error, ms)


def summary(statuses: list[CheckStatus]) -> tuple[bool, bool, str]:
    """``(live, ready, status)``: status is ``ok``, ``not_ready`` or ``failing`` (liveness failed)."""
    live = all(s.ok for s in statuses if s.kind == Kind.LIVENESS.value)
    ready = live and all(s.ok for s in statuses)
    return live, ready, "ok" if ready else "not_ready" if live else "failing"


__all__ = ["READY", "CheckFunc", "CheckStatus", "Checks", "Kind", "summary"]
