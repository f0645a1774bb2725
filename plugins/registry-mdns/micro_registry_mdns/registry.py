"""The mDNS registry: nodes announce themselves on the LAN; no server to run.

Each registry instance owns an :class:`~zeroconf.asyncio.AsyncZeroconf` on the chosen
interfaces. Registering announces the node's records with the registration's TTL;
renewing announces them again; deregistering (or closing) sends goodbyes. A node whose
process dies simply stops being renewed and drops out of every cache when its TTL runs
out; a watch reports that delete as expired, one after a goodbye as deregistered.
Lookups ask the network, wait ``query_timeout`` for answers, and read the cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import ifaddr
from zeroconf import (
    IPVersion,
    RecordUpdate,
    RecordUpdateListener,
    Zeroconf,
    const,
    current_time_millis,
)
from zeroconf._dns import DNSQuestion, DNSRecord
from zeroconf._protocol.incoming import DNSIncoming
from zeroconf._protocol.outgoing import DNSOutgoing
from zeroconf.asyncio import AsyncZeroconf

from micro_core.options import Options
from micro_core.registry import (
    DEFAULT_TTL,
    Registry,
    RegistryUnavailable,
    Service,
    ServiceNotFound,
    Watcher,
    Watchers,
    decode_service,
    encode_service,
    list_versions,
    merge_services,
    split_nodes,
)
from micro_registry_mdns._responder import Asker, Responder
from micro_registry_mdns._view import CacheReader, diff
from micro_registry_mdns._zone import Names, Zone, check_name
from micro_registry_mdns.plugin import DEFAULT_DOMAIN, DEFAULT_QUERY_TIMEOUT, registry_arguments

log = logging.getLogger(__name__)

_RESPONSE = const._FLAGS_QR_RESPONSE | const._FLAGS_AA


class _Changes(RecordUpdateListener):
    """Tells the registry when a batch of records in its domain has reached the cache, and
    which names in it said goodbye (a record with TTL 0: RFC 6762 §10.1)."""

    def __init__(self, registry: MDNSRegistry, suffix: str) -> None:
        super().__init__()
        self._registry = registry
        self._suffix = suffix
        self._touched = False

    def async_update_records(self, zc: Zeroconf, now: float, records: list[RecordUpdate]) -> None:
        ours = [u.new for u in records if u.new.key.endswith(self._suffix)]
        self._touched = self._touched or bool(ours)
        self._registry._goodbyes.update(record.key for record in ours if record.ttl == 0)

    def async_update_records_complete(self) -> None:
        if self._touched:
            self._touched = False
            self._registry._refresh()


class MDNSRegistry(Registry):
    """Service discovery over multicast DNS, in Go Micro's names and TXT encoding."""

    name = "mdns"

    def __init__(
        self,
        address: str = "",
        *,
        interfaces: list[str] | None = None,
        domain: str = DEFAULT_DOMAIN,
        query_timeout: float = DEFAULT_QUERY_TIMEOUT,
        expiry_interval: float = 0.25,
    ) -> None:
        """``interfaces``: IPv4 addresses to use, None for all of the host's; ``address`` is unused."""
        super().__init__(address)
        self.interfaces = interfaces
        self.names = Names(check_name(domain.lower()).strip("."))
        self.query_timeout = query_timeout
        self._zone = Zone(self.names)
        self._aiozc: AsyncZeroconf | None = None
        self._responder: Responder | None = None
        self._askers: list[Asker] = []
        self._reader: CacheReader | None = None
        self._view: dict[str, Service] = {}
        #: Instance names (lower case) that said goodbye since the last refresh.
        self._goodbyes: set[str] = set()
        self._watchers = Watchers(self._refresh, expiry_interval)

    @classmethod
    def from_options(cls, options: Options) -> MDNSRegistry:
        return cls(options["registry_address"], **registry_arguments(options))

    async def connect(self) -> None:
        present = _all_ipv4_addresses()
        addresses = self.interfaces or present
        missing = [address for address in addresses if address not in present]
        if missing or not addresses:
            raise RegistryUnavailable(
                f"cannot use mDNS on {', '.join(missing) or 'no interface'}: "
                f"this host's IPv4 addresses are {', '.join(present) or 'none'}"
            )
        try:
            self._aiozc = AsyncZeroconf(interfaces=addresses, ip_version=IPVersion.V4Only)
            await self._aiozc.zeroconf.async_wait_for_start()
            zc = self._aiozc.zeroconf
            cache_response = zc.record_manager.async_updates_from_response
            self._responder = await Responder.open(addresses, self._answer, cache_response)
            self._askers = [await Asker.open(address, cache_response) for address in addresses]
        except (OSError, RuntimeError) as exc:
            await self.close()
            raise RegistryUnavailable(f"cannot use mDNS on {', '.join(addresses)}: {exc}") from exc
        self._reader = CacheReader(zc.cache, self.names)
        zc.async_add_listener(_Changes(self, self.names.suffix), None)

    async def close(self) -> None:
        await self._watchers.close()
        if self._responder is not None:
            self._responder.close()
            self._responder = None
        for asker in self._askers:
            asker.close()
        self._askers = []
        if self._aiozc is not None:
            self._send(self._zone.remove_all())
            await self._aiozc.async_close()
            self._aiozc = None

    async def register(self, service: Service, ttl: float = DEFAULT_TTL) -> None:
        entries = split_nodes(service, ttl)
        self._zeroconf()
        self._send(self._zone.put(entries, ttl))

    async def deregister(self, service: Service) -> None:
        self._zeroconf()
        goodbyes = [r for node in service.nodes for r in self._zone.remove(service.name, node.id)]
        self._send(goodbyes)

    async def get_service(self, name: str) -> list[Service]:
        try:
            question = check_name(self.names.service(name))
        except ValueError:
            raise ServiceNotFound(f"service {name!r} is not registered", id="micro.registry") from None
        await self._ask([question])
        entries = [entry for entry in self._scan().values() if entry.name == name]
        if not entries:
            raise ServiceNotFound(f"service {name!r} is not registered", id="micro.registry")
        return [decode_service(encode_service(s)) for s in merge_services(entries)]

    async def list_services(self) -> list[Service]:
        """Go Micro's way: ask for the ``_services`` wildcards, then for each service named."""
        await self._ask([self.names.services])
        reader = self._cache_reader()
        names = reader.service_names(current_time_millis()) | {s.name for s in self._scan().values()}
        if names:
            await self._ask([self.names.service(name) for name in sorted(names)])
        return list_versions(list(self._scan().values()))

    def watch(self, service: str | None = None) -> Watcher:
        if not self._watchers.active:
            self._view = self._scan()  # a watch reports changes from now on
        return self._watchers.open(service)

    # --- internals ---------------------------------------------------------------------

    def _zeroconf(self) -> Zeroconf:
        if self._aiozc is None:
            raise RegistryUnavailable("the mDNS registry is not connected: call connect() first")
        return self._aiozc.zeroconf

    def _cache_reader(self) -> CacheReader:
        self._zeroconf()
        assert self._reader is not None
        return self._reader

    def _scan(self) -> dict[str, Service]:
        return self._cache_reader().scan(current_time_millis())

    def _refresh(self) -> None:
        """Emit what changed in the cache since the last look; called on new records and on a timer."""
        goodbyes, self._goodbyes = self._goodbyes, set()
        if not self._watchers.active or self._aiozc is None:
            return
        view = self._scan()
        for event in diff(self._view, view, goodbyes):
            self._watchers.emit(event)
        self._view = view

    async def _ask(self, names: Iterable[str]) -> None:
        """Multicast PTR questions for ``names`` (from the askers' own ports, see
        :mod:`._responder`) and give the network ``query_timeout`` to answer."""
        self._zeroconf()
        query = DNSOutgoing(const._FLAGS_QR_QUERY)
        for name in names:
            query.add_question(DNSQuestion(name, const._TYPE_PTR, const._CLASS_IN))
        packets = query.packets()
        for asker in self._askers:
            asker.ask(packets)
        await asyncio.sleep(self.query_timeout)

    def _send(self, records: list[DNSRecord]) -> None:
        """Multicast ``records`` as an unsolicited response (an announcement or goodbye)."""
        if records:
            out = DNSOutgoing(_RESPONSE)
            for record in records:
                out.add_answer_at_time(record, 0)
            self._zeroconf().async_send(out)

    def _answer(self, query: DNSIncoming, addr: tuple[str, int]) -> None:
        """Answer a query about our nodes: by multicast, or to the asker if it is a one-shot resolver."""
        if self._aiozc is None:
            return
        legacy = addr[1] != const._MDNS_PORT  # RFC 6762 §6.7: reply by unicast, echo id and questions
        for answers, additionals in self._zone.answer(query.questions):
            out = DNSOutgoing(_RESPONSE, multicast=not legacy, id_=query.id if legacy else 0)
            if legacy:
                for question in query.questions:
                    out.add_question(question)
            for record in answers:
                out.add_answer_at_time(record, 0)
            for record in additionals:
                out.add_additional_answer(record)
            if legacy:
                assert self._responder is not None
                self._responder.reply(out.packets(), addr)
            else:
                self._aiozc.zeroconf.async_send(out)

    def __repr__(self) -> str:
        where = ",".join(self.interfaces) if self.interfaces else "all interfaces"
        return f"<MDNSRegistry {self.names.domain}. on {where}>"


def _all_ipv4_addresses() -> list[str]:
    """Every IPv4 address of the host, as zeroconf's ``InterfaceChoice.All`` would pick."""
    found: set[Any] = {ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if ip.is_IPv4}
    return sorted(str(address) for address in found)
