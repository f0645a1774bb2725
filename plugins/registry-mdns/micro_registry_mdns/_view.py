"""What the mDNS cache says is running: one single-node service entry per live instance.

The view is recomputed from zeroconf's record cache rather than kept beside it, so the
cache's own TTL bookkeeping, goodbye packets and cache-flush rules decide what is alive.
A record that is not a Go Micro node (foreign, malformed) is skipped with one warning.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable

import msgspec
from zeroconf import const
from zeroconf._cache import DNSCache
from zeroconf._dns import DNSAddress, DNSPointer, DNSRecord, DNSService, DNSText

from micro_core.registry import Event, EventType, Node, Service
from micro_registry_mdns._txt import TxtError, decode_txt
from micro_registry_mdns._zone import Names

log = logging.getLogger(__name__)

#: Decoded TXT payloads remembered, so a rescan does not re-inflate every record.
_MEMO_SIZE = 4096


def _newest(records: Iterable[DNSRecord], type_: int, now: float) -> DNSRecord | None:
    """The most recently received live record of ``type_``: after an update, the new data wins."""
    live = [r for r in records if r.type == type_ and not r.is_expired(now)]
    return max(live, key=lambda r: r.created, default=None)


class CacheReader:
    """Reads micro nodes out of a zeroconf cache; warns once per bad record, never raises."""

    def __init__(self, cache: DNSCache, names: Names) -> None:
        self._cache = cache
        self.names = names
        self._decoded: dict[tuple[str, bytes], tuple[Service, str] | None] = {}

    def scan(self, now: float) -> dict[str, Service]:
        """Every live node in the domain, by instance name (lower case)."""
        suffix, wildcard = self.names.suffix, "._services" + self.names.suffix
        view = {}
        for name in self._cache.names():
            if name.endswith(suffix) and not name.endswith(wildcard):
                entry = self._entry(name, now)
                if entry is not None:
                    view[name] = entry
        return view

    def service_names(self, now: float) -> set[str]:
        """Names of the services whose wildcard instance (Go Micro's list of services) is cached."""
        wildcard = "._services" + self.names.suffix
        return {
            record.alias[: -len(wildcard)]
            for record in self._cache.async_entries_with_name(self.names.services)
            if isinstance(record, DNSPointer)
            and not record.is_expired(now)
            and record.alias.lower().endswith(wildcard)
        }

    def _entry(self, name: str, now: float) -> Service | None:
        records = self._cache.async_entries_with_name(name)
        srv, txt = _newest(records, const._TYPE_SRV, now), _newest(records, const._TYPE_TXT, now)
        if not isinstance(srv, DNSService) or not isinstance(txt, DNSText):
            return None  # not a node, or not complete yet
        target = self._cache.async_entries_with_name(srv.server_key)
        ip = _newest(target, const._TYPE_A, now) or _newest(target, const._TYPE_AAAA, now)
        if not isinstance(ip, DNSAddress):
            return None
        address = ipaddress.ip_address(ip.address)
        host = str(address) if address.version == 4 else f"[{address}]"
        described = self._describe(srv.name, txt.text)
        if described is None:
            return None
        entry, node_id = described
        node = Node(node_id, f"{host}:{srv.port}", entry.nodes[0].metadata)
        return msgspec.structs.replace(entry, nodes=[node])

    def _describe(self, instance: str, text: bytes) -> tuple[Service, str] | None:
        """The decoded TXT of ``instance`` and the node id, or None if it is not a micro node."""
        key = (instance, text)
        if key in self._decoded:
            return self._decoded[key]
        if len(self._decoded) >= _MEMO_SIZE:
            self._decoded.clear()
        try:
            entry = decode_txt(text)
            # The node id is the instance name without ".<service>.<domain>.", service from the TXT.
            tail = "." + self.names.service(entry.name)
            if not instance.lower().endswith(tail.lower()) or len(instance) == len(tail):
                raise TxtError(f"instance name does not end with {tail!r}, the service its TXT names")
            described: tuple[Service, str] | None = (entry, instance[: -len(tail)])
        except TxtError as exc:
            log.warning("mDNS: skipping %s: %s", instance, exc)
            described = None
        self._decoded[key] = described
        return described


def diff(old: dict[str, Service], new: dict[str, Service], goodbyes: set[str]) -> list[Event]:
    """The events that turn view ``old`` into view ``new``.

    A node that left after a goodbye for its instance name (in ``goodbyes``) was
    deregistered; one that left without was not renewed, and its records expired.
    """
    events = [
        Event(EventType.DELETE, entry, expired=key not in goodbyes)
        for key, entry in old.items()
        if key not in new
    ]
    for key, entry in new.items():
        if key not in old:
            events.append(Event(EventType.CREATE, entry))
        elif old[key] != entry:
            events.append(Event(EventType.UPDATE, entry))
    return events
