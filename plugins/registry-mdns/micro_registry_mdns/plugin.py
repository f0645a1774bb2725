"""The mDNS driver's settings: declared through ``micro_add_options``, read by ``from_options``."""

from __future__ import annotations

import ipaddress
from typing import Any

from micro_core.hookspecs import hookimpl
from micro_core.options import Options

#: Go Micro's mDNS domain: services are ``<service>.micro.``.
DEFAULT_DOMAIN = "micro"
#: Seconds a lookup waits for answers (Go Micro waits 100 ms); generous for busy hosts.
DEFAULT_QUERY_TIMEOUT = 0.2


@hookimpl
def micro_add_options(options: Options) -> None:
    options.add(
        "registry_mdns_interfaces",
        "all",
        "IPv4 addresses of the interfaces mDNS uses, comma-separated, or 'all' (127.0.0.1: this host only)",
    )
    options.add("registry_mdns_domain", DEFAULT_DOMAIN, "mDNS domain services are announced in")
    options.add(
        "registry_mdns_query_timeout",
        DEFAULT_QUERY_TIMEOUT,
        "seconds a lookup waits for other hosts to answer",
        float,
    )


def parse_interfaces(value: str | list[str]) -> list[str] | None:
    """IPv4 addresses from ``"a,b"`` or a list; None for ``"all"``; ``ValueError`` naming a bad one."""
    items = value.split(",") if isinstance(value, str) else value
    addresses = [item.strip() for item in items if item.strip()]
    if addresses == ["all"]:
        return None
    for address in addresses:
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            raise ValueError(f"mDNS interface {address!r} is not an IPv4 address (or 'all')") from None
    if not addresses:
        raise ValueError("no mDNS interface given; use 'all' or IPv4 addresses")
    return addresses


def registry_arguments(options: Options) -> dict[str, Any]:
    """Keyword arguments of :class:`~micro_registry_mdns.MDNSRegistry` from resolved ``options``."""
    micro_add_options(options)  # declared even when plugin autoloading is off
    return {
        "interfaces": parse_interfaces(options["registry_mdns_interfaces"]),
        "domain": options["registry_mdns_domain"],
        "query_timeout": options["registry_mdns_query_timeout"],
    }
