"""The app the sidecar stands beside: its registry entry, kept alive while its health check passes.

One loop does it all: every ``check_interval`` seconds it asks the app's health URL;
a passing app is registered (again every ``renew_interval``, so the TTL never runs
out), a failing one is deregistered at once rather than left to expire, and is
registered again as soon as it passes. Stopping deregisters before anything else is
closed, so callers stop being sent to the app before the sidecar goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from dataclasses import dataclass, field

import aiohttp

from micro_core import Registry
from micro_core.registry import Endpoint, Node
from micro_core.registry import Service as Entry

log = logging.getLogger("micro.sidecar")


class Health(enum.StrEnum):
    """What the last check said; ``unchecked`` when the app has no health URL."""

    UNKNOWN = "unknown"
    PASSING = "passing"
    FAILING = "failing"
    UNCHECKED = "unchecked"


@dataclass(frozen=True)
class App:
    """The app as the system sees it: a service name, where it listens, and what it serves."""

    name: str
    #: Base URL of the app, e.g. ``http://127.0.0.1:3000``.
    url: str
    version: str = "latest"
    metadata: dict[str, str] = field(default_factory=dict)
    endpoints: list[Endpoint] = field(default_factory=list)
    #: URL polled for health (2xx passes); empty: no check, registered while the sidecar runs.
    health_url: str = ""


@dataclass
class Status:
    """The app's state as ``/health/app`` reports it."""

    health: Health = Health.UNKNOWN
    registered: bool = False
    detail: str = ""
    checked: float = 0.0  # time.time() of the last check

    def to_dict(self) -> dict[str, object]:
        return {
            "health": str(self.health),
            "registered": self.registered,
            "detail": self.detail,
            "checked": self.checked,
        }


class Registration:
    """Registers ``app`` at ``address`` in ``registry`` while it is healthy; see the module docstring."""

    def __init__(
        self,
        app: App,
        address: str,
        node_id: str,
        registry: Registry,
        *,
        ttl: float,
        renew_interval: float,
        check_interval: float,
        http: aiohttp.ClientSession,
        node_metadata: dict[str, str] | None = None,
    ) -> None:
        self.app = app
        self.registry = registry
        self.ttl = ttl
        self.renew_interval = renew_interval
        self.check_interval = check_interval
        self.status = Status(Health.UNCHECKED if not app.health_url else Health.UNKNOWN)
        self._http = http
        self._entry = Entry(
            name=app.name,
            version=app.version,
            metadata=dict(app.metadata),
            endpoints=list(app.endpoints),
            nodes=[Node(id=node_id, address=address, metadata={**app.metadata, **(node_metadata or {})})],
        )
        self._renewed = 0.0  # monotonic time of the last successful registration
        self._checked = -float("inf")  # monotonic time of the last health check
        self._loop: asyncio.Task[None] | None = None

    @property
    def entry(self) -> Entry:
        return self._entry

    async def start(self) -> None:
        """Check once and register if healthy, then keep doing so in the background."""
        await self._tick()
        self._loop = asyncio.create_task(self._run(), name=f"sidecar {self.app.name} registration")

    async def stop(self) -> None:
        """Stop checking and deregister the app (first thing on shutdown)."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        await self._deregister("the sidecar is stopping")

    async def _run(self) -> None:
        period = min(self.check_interval, self.renew_interval)
        while True:
            await asyncio.sleep(period)
            await self._tick()

    async def _tick(self) -> None:
        due = time.monotonic() - self._checked >= self.check_interval * 0.99  # (sleep is not exact)
        healthy = await self._check() if due else self.status.health is not Health.FAILING
        try:
            if healthy and (
                not self.status.registered or time.monotonic() - self._renewed >= self.renew_interval
            ):
                await self.registry.register(self._entry, self.ttl)
                self._renewed = time.monotonic()
                if not self.status.registered:
                    log.info("%s registered at %s", self.app.name, self._entry.nodes[0].address)
                self.status.registered = True
            elif not healthy and self.status.registered:
                await self._deregister(f"its health check failed: {self.status.detail}")
        except Exception as exc:
            log.warning(
                "%s: registry update failed (%s); retrying in %.1fs", self.app.name, exc, self.check_interval
            )

    async def _deregister(self, why: str) -> None:
        if not self.status.registered:
            return
        self.status.registered = False
        try:
            await self.registry.deregister(self._entry)
            log.info("%s deregistered: %s", self.app.name, why)
        except Exception:
            log.warning(
                "%s: deregistration failed; the entry expires with its TTL", self.app.name, exc_info=True
            )

    async def _check(self) -> bool:
        """One health check; an app without a health URL always passes."""
        if not self.app.health_url:
            return True
        self._checked = time.monotonic()
        self.status.checked = time.time()
        timeout = aiohttp.ClientTimeout(total=max(self.check_interval, 0.5))
        try:
            async with self._http.get(self.app.health_url, timeout=timeout) as response:
                await response.read()
                passing = 200 <= response.status < 300
                self.status.detail = f"{self.app.health_url} answered {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            passing = False
            self.status.detail = f"{self.app.health_url} unreachable: {exc or type(exc).__name__}"
        self.status.health = Health.PASSING if passing else Health.FAILING
        return passing


__all__ = ["App", "Health", "Registration", "Status"]
