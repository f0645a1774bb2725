"""Service discovery through Consul: each node a service instance with a TTL health check.

``register`` adds the instance to the local agent with a check that starts passing and
turns critical if not renewed within the TTL; Consul removes it once it has been
critical for ``DeregisterCriticalServiceAfter`` (at least a minute). Reads and watches
see only passing instances, so a crashed node drops out as soon as its TTL lapses (a
watch also looks at the critical ones, to report that node as expired).

Calling ``register`` again with the same entry, as a running service does every
``register_interval``, only passes the check. If that fails because the agent no
longer knows the check (it restarted, or we failed over to another agent), the entry
is registered afresh: a service comes back by itself after an agent restart.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import consul.exceptions  # type: ignore[import-untyped]

from micro_core.options import Options
from micro_core.registry import (
    DEFAULT_TTL,
    Registry,
    RegistryUnavailable,
    Service,
    ServiceNotFound,
    Watcher,
    encode_service,
    list_versions,
    merge_services,
    split_nodes,
)
from micro_registry_consul import plugin
from micro_registry_consul._agents import TLS, Agents, parse_addresses
from micro_registry_consul._instances import check_id, from_health, registration
from micro_registry_consul._watch import ConsulWatcher
from micro_registry_consul.encoding import NOT_MICRO, TagError, has_version

log = logging.getLogger(__name__)

#: Consul's own service on server agents: known not to be a micro service, so not reported.
_CONSUL_SERVICES = frozenset({"consul"})


class ConsulRegistry(Registry):
    """A registry kept by Consul agents: ``--registry consul --registry-address host:8500[,host2:8500]``."""

    name = "consul"

    def __init__(
        self,
        address: str = "",
        *,
        token: str = "",
        scheme: str = "http",
        tls: TLS | None = None,
        timeout: float = plugin.DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(address)
        self.addresses = parse_addresses(address, scheme)
        self._token = token
        self._tls = tls or TLS()
        self._timeout = timeout
        self._agents: Agents | None = None
        #: node id -> (the entry as last registered, its ttl): what a renewal only has to pass.
        self._registered: dict[str, tuple[bytes, float]] = {}
        self._watchers: set[ConsulWatcher] = set()
        self._reported: set[tuple[str, str]] = set()
        #: The highest Consul index seen: changes after it are news to a watch started now.
        self.last_index = 0

    @classmethod
    def from_options(cls, options: Options) -> ConsulRegistry:
        plugin.micro_add_options(options)  # declared even when plugin autoloading is off
        tls = TLS(
            ca=options["registry_consul_tls_ca"],
            cert=options["registry_consul_tls_cert"],
            key=options["registry_consul_tls_key"],
            verify=options["registry_consul_tls_verify"],
        )
        return cls(
            options["registry_address"],
            token=options["registry_consul_token"],
            scheme=options["registry_consul_scheme"],
            tls=tls,
            timeout=options["registry_consul_timeout"],
        )

    # --- lifecycle -----------------------------------------------------------------------

    def agents(self) -> Agents:
        """The agent clients, made on first use (inside the event loop, as aiohttp wants)."""
        if self._agents is None:
            self._agents = Agents(self.addresses, self._token, self._tls, self._timeout)
        return self._agents

    async def connect(self) -> None:
        """Reach an agent and read the catalog once: a bad address or token fails here, clearly."""
        try:
            index, _ = await self.agents().call(lambda c: c.catalog.services())
        except BaseException as exc:
            await self.close()  # the HTTP sessions opened to try, or aiohttp warns "Unclosed client session"
            if isinstance(exc, consul.ConsulException):
                address = self.address or self.addresses[0]
                raise RegistryUnavailable(f"Consul agent at {address}: {exc}") from exc
            raise
        self.seen_index(index)

    async def close(self) -> None:
        for watcher in list(self._watchers):
            await watcher.close()
        if self._agents is not None:
            await self._agents.close()
            self._agents = None

    def seen_index(self, index: str | int) -> int:
        self.last_index = max(self.last_index, int(index))
        return int(index)

    # --- writing -------------------------------------------------------------------------

    async def register(self, service: Service, ttl: float = DEFAULT_TTL) -> None:
        for entry in split_nodes(service, ttl):
            node_id = entry.nodes[0].id
            state = (encode_service(entry), ttl)
            if self._registered.get(node_id) == state and await self._pass(node_id):
                continue
            arguments = registration(entry, ttl)
            try:
                await self.agents().call(lambda c, a=arguments: c.agent.service.register(**a))  # type: ignore[misc]
            except consul.exceptions.BadRequest as exc:
                raise ValueError(f"Consul refused node {node_id!r} of {entry.name!r}: {exc}") from exc
            # A check that existed keeps its old status (say, critical) when re-registered: pass it.
            await self.agents().call(lambda c, i=node_id: c.agent.check.ttl_pass(check_id(i)))  # type: ignore[misc]
            self._registered[node_id] = state

    async def _pass(self, node_id: str) -> bool:
        """Renew the node's TTL; False if the agent does not know the check (register it again)."""
        try:
            passed: bool = await self.agents().call(lambda c: c.agent.check.ttl_pass(check_id(node_id)))
        except consul.ConsulException as exc:
            passed = False
            log.debug("consul registry: TTL pass of %s failed: %s", node_id, exc)
        if not passed:
            log.info("consul registry: agent does not know %s (restarted?); registering it again", node_id)
        return passed

    async def deregister(self, service: Service) -> None:
        for node in service.nodes:
            self._registered.pop(node.id, None)
            await self.agents().call(lambda c, i=node.id: c.agent.service.deregister(i))  # type: ignore[misc]

    # --- reading -------------------------------------------------------------------------

    async def health(
        self, name: str, index: int = 0, wait: float = 0, *, passing: bool = True
    ) -> tuple[int, list[dict[str, Any]]]:
        """The raw health entries of ``name`` whose checks all pass (every one when ``passing``
        is False), and the Consul index.

        With ``index`` and ``wait``, a blocking query: it returns once the index moves past
        ``index`` or ``wait`` seconds have passed.
        """
        found, items = await self.agents().call(
            lambda c: c.health.service(name, passing=passing, index=index, wait=_wait(wait)),
            timeout=self._timeout + wait,
        )
        return self.seen_index(found), items or []

    def decode(self, item: dict[str, Any]) -> Service | None:
        """The entry (one node) of a health item, or None, reported once, if micro cannot read it."""
        try:
            return from_health(item)
        except TagError as exc:
            self.report(f"instance {item.get('Service', {}).get('ID', '?')!r}", str(exc))
            return None

    def report(self, what: str, problem: str) -> None:
        if (what, problem) not in self._reported:
            self._reported.add((what, problem))
            log.warning("consul registry: skipping %s: %s", what, problem)

    async def get_service(self, name: str) -> list[Service]:
        items = (await self.health(name))[1] if name else []
        entries = [entry for item in items if (entry := self.decode(item)) is not None]
        if not entries:
            raise ServiceNotFound(f"service {name!r} is not registered", id="micro.registry")
        return merge_services(entries)

    async def catalog(self, index: int = 0, wait: float = 0) -> tuple[int, list[str]]:
        """Names in the catalog whose tags include a version (the others are not micro's), and the index."""
        found, services = await self.agents().call(
            lambda c: c.catalog.services(index=index, wait=_wait(wait)), timeout=self._timeout + wait
        )
        names = []
        for name, tags in (services or {}).items():
            if has_version(tags or []):
                names.append(name)
            elif name not in _CONSUL_SERVICES:
                self.report(f"service {name!r}", NOT_MICRO)
        return self.seen_index(found), sorted(names)

    async def list_services(self) -> list[Service]:
        _, names = await self.catalog()
        found = await asyncio.gather(*(self.health(name) for name in names))
        return list_versions(
            [e for _, items in found for item in items if (e := self.decode(item)) is not None]
        )

    # --- watching ------------------------------------------------------------------------

    def watch(self, service: str | None = None) -> Watcher:
        watcher = ConsulWatcher(self, service, since=self.last_index)
        self._watchers.add(watcher)
        watcher.on_close(self._watchers.discard)
        return watcher


def _wait(seconds: float) -> str | None:
    """A blocking query's wait as Consul spells it; None (no wait) for 0."""
    return f"{seconds:.0f}s" if seconds else None
