"""What a web service's HTTP front does before the app sees a request: drain, count, or answer RPC.

Both fronts (ASGI under uvicorn, aiohttp) share it. While draining, new requests get
503 with ``Micro-Draining`` so that ``micro web``'s proxy tries another node; the
requests in flight are counted so a stop can wait for them. A ``POST /`` carrying
``Micro-Endpoint`` is a micro call (the HTTP transport's wire format, Go Micro's too)
and goes to the service's own RPC server, so ``Debug.Health``, ``Debug.Stats`` and any
handlers answer at the address the web service registered, like any RPC service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from micro_core import Message, Server, errors, headers
from micro_http.proxy import DRAINING_HEADER

log = logging.getLogger("micro.web")

#: Headers that frame the HTTP message, not the micro message it carries (lower case).
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})


def is_call(method: str, path: str, names: Iterable[str]) -> bool:
    """True for a micro call: ``POST /`` with ``Micro-Endpoint`` or ``Micro-Method`` (any case)."""
    if method != "POST" or path != "/":
        return False
    wanted = {headers.ENDPOINT.lower(), headers.METHOD.lower()}
    return any(name.lower() in wanted for name in names)


def _canonical(name: str) -> str:
    """``micro-endpoint`` -> ``Micro-Endpoint``: ASGI servers lower-case header names, the
    kernel looks them up as Go Micro writes them."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


class Gate:
    """Admission for one web service's HTTP front: the in-flight count and the draining switch."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self.draining = False
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self._inflight += 1
        self._idle.clear()

    def leave(self) -> None:
        self._inflight -= 1
        if not self._inflight:
            self._idle.set()

    async def drain(self, grace: float) -> bool:
        """Refuse new requests (503 + ``Micro-Draining``) and wait up to ``grace`` s for the rest."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            log.warning("%d requests still running after %.1fs grace", self._inflight, grace)
            return False
        return True

    #: The status, headers and body of the answer to a request that arrives while draining.
    REFUSAL = (503, {DRAINING_HEADER: "true", "Content-Type": "text/plain"}, b"draining\n")

    async def call(self, header: Iterable[tuple[str, str]], body: bytes) -> tuple[dict[str, str], bytes]:
        """Answer a micro call with the service's RPC server: the reply's headers and body."""
        fields = {_canonical(name): value for name, value in header if name.lower() not in _FRAMING}
        if headers.STREAM in fields:
            refusal = errors.BadRequest("a web service's HTTP port serves no streams", id="micro.web")
            reply = Message({headers.ERROR: refusal.to_json().decode()})
        else:
            reply = await self._server.unary(Message(fields, body))
        out = dict(reply.header)
        if headers.ID in fields:
            out[headers.ID] = fields[headers.ID]
        return out, reply.body


__all__ = ["Gate", "is_call"]
