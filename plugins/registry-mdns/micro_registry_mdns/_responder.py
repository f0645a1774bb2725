"""The registry's own mDNS sockets: one answering queries, and one per interface asking them.

zeroconf answers queries only for services in its own registry, and that registry
accepts only DNS-SD names under ``local.``; Go Micro's names live under ``micro.``. So
the registry listens for queries on a socket of its own (port 5353, shared with
zeroconf's) and answers them itself; zeroconf still does the parsing and the sending.

Go Micro's mDNS server answers every query by unicast to the address and port it came
from. A query sent from port 5353 would have its answer delivered to just one of the
sockets bound there, on this host, maybe another process's. So the registry asks from
sockets of its own on ports of their own (:class:`Asker`, one per interface), and hands
what they receive to zeroconf's cache as if zeroconf had read it. A response that
reaches the listening socket is handed over the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import cast

from zeroconf import const
from zeroconf._protocol.incoming import DNSIncoming

log = logging.getLogger(__name__)

QueryHandler = Callable[[DNSIncoming, tuple[str, int]], None]
ResponseHandler = Callable[[DNSIncoming], None]

_IP_MULTICAST_ALL = 49  # Linux: receive only the groups joined on this socket


class _Endpoint(asyncio.DatagramProtocol):
    """A UDP socket handing the queries it receives to ``on_query`` and the responses to ``on_response``."""

    def __init__(self, on_query: QueryHandler | None, on_response: ResponseHandler) -> None:
        self._on_query = on_query
        self._on_response = on_response
        self._transport: asyncio.DatagramTransport | None = None

    async def _start(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        await asyncio.get_running_loop().create_datagram_endpoint(lambda: self, sock=sock)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        message = DNSIncoming(data, addr)
        if not message.valid:
            return
        try:
            if not message.is_query():
                self._on_response(message)
            elif self._on_query is not None:
                self._on_query(message, addr)
        except Exception:  # one bad packet must not stop the handling of the next
            log.exception("mDNS: failed to handle a packet from %s", addr[0])

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class Responder(_Endpoint):
    """Receives queries on the chosen IPv4 interfaces at port 5353; ``reply`` sends a unicast answer."""

    @classmethod
    async def open(
        cls, addresses: list[str], on_query: QueryHandler, on_response: ResponseHandler
    ) -> Responder:
        """Listen on port 5353 and join the mDNS group on each of ``addresses``; ``OSError`` if none."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            with contextlib.suppress(OSError):  # not Linux: other groups may reach us, harmlessly
                sock.setsockopt(socket.IPPROTO_IP, _IP_MULTICAST_ALL, 0)
            sock.bind(("", const._MDNS_PORT))
            joined = [address for address in addresses if _join(sock, address)]
            if not joined:
                raise OSError(f"could not join the mDNS group on any of {addresses}")
            responder = cls(on_query, on_response)
            await responder._start(sock)
        except BaseException:
            sock.close()
            raise
        return responder

    def reply(self, packets: list[bytes], addr: tuple[str, int]) -> None:
        if self._transport is not None:
            for packet in packets:
                self._transport.sendto(packet, addr)


class Asker(_Endpoint):
    """Sends queries from a port of its own on one interface; the answers go to ``on_response``."""

    @classmethod
    async def open(cls, address: str, on_response: ResponseHandler) -> Asker:
        """A socket on ``address`` (any free port) that multicasts on that interface."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((address, 0))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            asker = cls(None, on_response)
            await asker._start(sock)
        except BaseException:
            sock.close()
            raise
        return asker

    def ask(self, packets: list[bytes]) -> None:
        if self._transport is not None:
            for packet in packets:
                self._transport.sendto(packet, (const._MDNS_ADDR, const._MDNS_PORT))


def _join(sock: socket.socket, address: str) -> bool:
    request = socket.inet_aton(const._MDNS_ADDR) + socket.inet_aton(address)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, request)
    except OSError as exc:
        log.debug("mDNS: cannot join the group on %s: %s", address, exc)
        return False
    return True
