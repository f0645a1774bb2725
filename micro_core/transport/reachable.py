"""The address to advertise for a listener bound to every interface (``0.0.0.0`` or ``::``).

Registering ``0.0.0.0:port`` would send every caller to itself. Like Go Micro's
``addr.Extract``, pick an address of one of this host's interfaces instead, a private
one first, so that callers on other hosts reach it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys

#: The Linux ioctl that reads an interface's IPv4 address.
_SIOCGIFADDR = 0x8915
_WILDCARDS = frozenset({"", "0.0.0.0", "::"})


def reachable_host(host: str) -> str:
    """``host`` itself, unless it is a wildcard: then this host's best interface address."""
    if host not in _WILDCARDS:
        return host
    addresses = [ipaddress.ip_address(a) for a in interface_addresses()]
    usable = [a for a in addresses if not a.is_loopback and not a.is_link_local]
    usable.sort(key=lambda a: not a.is_private)  # private first, then in interface order
    return str(usable[0]) if usable else "127.0.0.1"


def interface_addresses() -> list[str]:
    """The IPv4 address of each interface that has one (Linux; elsewhere the host name's)."""
    if sys.platform != "linux":
        with contextlib.suppress(OSError):
            return [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
        return []
    import fcntl

    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, request)
            except OSError:  # no IPv4 address on this interface
                continue
            found.append(socket.inet_ntoa(answer[20:24]))
    return found


__all__ = ["interface_addresses", "reachable_host"]
