"""The records one registry announces, named the way Go Micro names them.

A node of service ``S`` with id ``N`` in domain ``D`` is the instance ``N.S.D.``: a PTR
``S.D.`` → ``N.S.D.``, and SRV, TXT and A (or AAAA) records owned by ``N.S.D.``. Each
service also has Go Micro's wildcard instance ``S._services.D.`` (port 9999, address
0.0.0.0, empty TXT), found through ``_services.D.`` and ``_services._dns-sd._udp.D.``:
that is how Go Micro lists services.

The zone keeps each entry until its TTL runs out, so a registration nobody renews stops
being announced and answered, exactly as it expires in every peer's cache.
"""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass

from zeroconf import const
from zeroconf._dns import DNSAddress, DNSPointer, DNSQuestion, DNSRecord, DNSService, DNSText

from micro_core.registry import Service
from micro_registry_mdns._txt import encode_txt

#: Largest TXT record data we announce: a record must fit in one mDNS packet.
MAX_TXT = 8000
#: Go Micro's port and address of the wildcard ``_services`` instance.
WILDCARD_PORT = 9999
WILDCARD_ADDRESS = "0.0.0.0"

_UNIQUE = const._CLASS_IN | const._CLASS_UNIQUE  # cache-flush: a newer SRV/TXT/A replaces the old one


def check_name(name: str) -> str:
    """``name`` if it is a valid DNS name (labels of 1 to 63 bytes, 255 in all), else ``ValueError``."""
    labels = name.rstrip(".").split(".")
    if len(name.encode()) > 255 or any(not 0 < len(label.encode()) <= 63 for label in labels):
        raise ValueError(f"{name!r} is not a valid DNS name: labels must be 1-63 bytes, 255 in all")
    return name


def split_address(address: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    """The IP and port of ``host:port`` (``[v6]:port``); mDNS announces addresses, not host names."""
    host, _, port = address.rpartition(":")
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
        number = int(port)
    except ValueError:
        raise ValueError(f"mDNS needs node addresses of the form ip:port, got {address!r}") from None
    if not 0 < number < 65536:
        raise ValueError(f"port out of range in node address {address!r}")
    return ip, number


def address_record(name: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, ttl: int) -> DNSAddress:
    type_ = const._TYPE_A if ip.version == 4 else const._TYPE_AAAA
    return DNSAddress(name, type_, _UNIQUE, ttl, ip.packed)


@dataclass(frozen=True)
class Names:
    """The DNS names of one domain (``micro`` unless configured otherwise)."""

    domain: str

    @property
    def suffix(self) -> str:
        return f".{self.domain}."

    def service(self, name: str) -> str:
        return f"{name}{self.suffix}"

    def instance(self, node_id: str, name: str) -> str:
        return f"{node_id}.{name}{self.suffix}"

    @property
    def services(self) -> str:
        """Owner of the PTRs to every service's wildcard instance."""
        return f"_services{self.suffix}"

    @property
    def enumeration(self) -> str:
        return f"_services._dns-sd._udp{self.suffix}"

    def wildcard(self, name: str) -> str:
        return f"{name}._services{self.suffix}"


@dataclass
class _Entry:
    service: Service  # with its single node
    txt: bytes
    expires: float  # time.monotonic()


class Zone:
    """What this registry announces, and the records that answer a question about it."""

    def __init__(self, names: Names) -> None:
        self.names = names
        self._entries: dict[tuple[str, str], _Entry] = {}

    def put(self, entries: list[Service], ttl: float) -> list[DNSRecord]:
        """Store single-node ``entries`` (all checked first) and return the records to announce."""
        checked = []
        for entry in entries:
            node = entry.nodes[0]
            check_name(self.names.instance(node.id, entry.name))
            check_name(self.names.wildcard(entry.name))
            split_address(node.address)
            txt = encode_txt(entry)
            if len(txt) > MAX_TXT:
                raise ValueError(
                    f"service {entry.name!r} is too large for mDNS: "
                    f"{len(txt)} bytes compressed, at most {MAX_TXT}"
                )
            checked.append(_Entry(entry, txt, time.monotonic() + ttl))
        for item in checked:
            self._entries[item.service.name.lower(), item.service.nodes[0].id.lower()] = item
        return self._records(checked, math.ceil(ttl))

    def remove(self, name: str, node_id: str) -> list[DNSRecord]:
        """Forget a node; the goodbye records (TTL 0) to send, empty if it was not registered here."""
        entry = self._entries.pop((name.lower(), node_id.lower()), None)
        if entry is None:
            return []
        last = not any(key[0] == name.lower() for key in self._entries)
        records = self._instance_records(entry, 0)
        return records + self._wildcard_records(name, 0) if last else records

    def remove_all(self) -> list[DNSRecord]:
        records = self._records(self._live(), 0)
        self._entries.clear()
        return records

    def answer(self, questions: list[DNSQuestion]) -> list[tuple[list[DNSRecord], list[DNSRecord]]]:
        """The replies to ``questions``, from the live entries only: (answers, additional records)
        for each instance a pointer answers with, then one for the other answers.

        One instance per reply, because Go Micro's client takes one service entry from
        each packet it reads (the last one named in it) and drops the rest.
        """
        records = self._records(self._live())
        by_name: dict[str, list[DNSRecord]] = {}
        for record in records:
            by_name.setdefault(record.key, []).append(record)
        if records:
            enumeration = DNSPointer(
                self.names.enumeration,
                const._TYPE_PTR,
                const._CLASS_IN,
                const._DNS_OTHER_TTL,
                self.names.services,
            )
            by_name[enumeration.key] = [enumeration]
        answers: list[DNSRecord] = []
        for question in questions:
            answers.extend(
                r
                for r in by_name.get(question.name.lower(), [])
                if question.type in (r.type, const._TYPE_ANY)
            )
        replies: list[tuple[list[DNSRecord], list[DNSRecord]]] = [
            ([pointer], [r for r in by_name.get(pointer.alias.lower(), []) if r not in answers])
            for pointer in answers
            if isinstance(pointer, DNSPointer)
        ]
        rest = [r for r in answers if not isinstance(r, DNSPointer)]
        return [*replies, (rest, [])] if rest else replies

    def _live(self) -> list[_Entry]:
        """The entries whose TTL has not run out; the others are dropped."""
        now = time.monotonic()
        for key in [key for key, entry in self._entries.items() if entry.expires <= now]:
            del self._entries[key]
        return list(self._entries.values())

    def _records(self, entries: list[_Entry], ttl: int | None = None) -> list[DNSRecord]:
        """Records of ``entries`` and their wildcards; ``ttl`` None: each entry's remaining TTL."""
        now = time.monotonic()
        records: list[DNSRecord] = []
        longest: dict[str, int] = {}
        for entry in entries:
            entry_ttl = math.ceil(entry.expires - now) if ttl is None else ttl
            records.extend(self._instance_records(entry, entry_ttl))
            longest[entry.service.name] = max(longest.get(entry.service.name, 0), entry_ttl)
        for name, name_ttl in longest.items():
            records.extend(self._wildcard_records(name, name_ttl))
        return records

    def _instance_records(self, entry: _Entry, ttl: int) -> list[DNSRecord]:
        node = entry.service.nodes[0]
        instance = self.names.instance(node.id, entry.service.name)
        ip, port = split_address(node.address)
        return [
            DNSPointer(
                self.names.service(entry.service.name), const._TYPE_PTR, const._CLASS_IN, ttl, instance
            ),
            DNSService(instance, const._TYPE_SRV, _UNIQUE, ttl, 0, 0, port, instance),
            DNSText(instance, const._TYPE_TXT, _UNIQUE, ttl, entry.txt),
            address_record(instance, ip, ttl),
        ]

    def _wildcard_records(self, name: str, ttl: int) -> list[DNSRecord]:
        wildcard = self.names.wildcard(name)
        return [
            DNSPointer(self.names.services, const._TYPE_PTR, const._CLASS_IN, ttl, wildcard),
            DNSService(wildcard, const._TYPE_SRV, _UNIQUE, ttl, 0, 0, WILDCARD_PORT, wildcard),
            DNSText(wildcard, const._TYPE_TXT, _UNIQUE, ttl, b"\x00"),
            address_record(wildcard, ipaddress.IPv4Address(WILDCARD_ADDRESS), ttl),
        ]
