"""Go Micro's mDNS TXT payload: JSON, zlib-compressed, hex-encoded, cut into 255-character strings.

Using Go Micro's exact payload (keys ``Service``, ``Version``, ``Endpoints``,
``Metadata``) is what lets a Go Micro service and a Python one find each other on the
same LAN. Go Micro carries no service-level metadata; we add it under
``ServiceMetadata``, a key Go's JSON decoder ignores.
"""

from __future__ import annotations

import zlib
from typing import Any

import msgspec

from micro_core.registry import Endpoint, Node, Service

#: Longest TXT string DNS allows; Go Micro cuts its hex text at exactly this length.
CHUNK = 255
#: Largest decompressed payload accepted, so a hostile record cannot exhaust memory.
MAX_PAYLOAD = 1 << 20


class TxtError(ValueError):
    """A TXT record that is not a Go Micro payload; the message says what is wrong with it."""


class _Payload(msgspec.Struct, rename="pascal"):
    """The JSON object inside the TXT record, keys as Go Micro's untagged struct spells them."""

    service: str
    version: str = ""
    endpoints: list[Endpoint] = msgspec.field(default_factory=list)
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    service_metadata: dict[str, str] = msgspec.field(default_factory=dict)


def encode_txt(entry: Service) -> bytes:
    """TXT record data (length-prefixed strings) describing the single node of ``entry``."""
    payload = _Payload(entry.name, entry.version, entry.endpoints, entry.nodes[0].metadata, entry.metadata)
    text = zlib.compress(msgspec.json.encode(payload)).hex().encode("ascii")
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
    return b"".join(bytes([len(chunk)]) + chunk for chunk in chunks)


def txt_strings(data: bytes) -> list[bytes]:
    """Split TXT record data into its strings; :class:`TxtError` if a length runs past the end."""
    strings, offset = [], 0
    while offset < len(data):
        end = offset + 1 + data[offset]
        if end > len(data):
            raise TxtError(
                f"TXT string at byte {offset} claims {data[offset]} bytes, only {len(data) - offset - 1} left"
            )
        strings.append(data[offset + 1 : end])
        offset = end
    return strings


def decode_txt(data: bytes) -> Service:
    """The service entry a TXT record describes; its one node has metadata, but no id or address yet.

    Raises :class:`TxtError` naming the failed step (hex, zlib, JSON, shape).
    """
    text = b"".join(txt_strings(data))
    try:
        compressed = bytes.fromhex(text.decode("ascii"))
    except ValueError as exc:
        raise TxtError(f"not hex-encoded: {text[:40]!r}") from exc
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, MAX_PAYLOAD)
    except zlib.error as exc:
        raise TxtError(f"not zlib-compressed: {exc}") from exc
    if inflater.unconsumed_tail:
        raise TxtError(f"payload larger than {MAX_PAYLOAD} bytes")
    if not inflater.eof:
        raise TxtError("zlib stream is truncated")
    try:
        payload = msgspec.convert(_drop_nulls(msgspec.json.decode(raw)), _Payload)
    except msgspec.MsgspecError as exc:
        raise TxtError(f"not a Go Micro service description: {exc}") from exc
    if not payload.service:
        raise TxtError("the payload names no service")
    return Service(
        payload.service,
        payload.version,
        payload.service_metadata,
        payload.endpoints,
        [Node("", "", payload.metadata)],
    )


def _drop_nulls(value: Any) -> Any:
    """Go encodes nil maps and slices as ``null``; dropping them lets the defaults apply."""
    if isinstance(value, dict):
        return {key: _drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_drop_nulls(item) for item in value]
    return value
