"""Go Micro's Consul tag encoding, so Go Micro services and ours read each other's entries.

Consul keeps only a name, address, port, tags and a flat ``Meta`` per service instance,
so Go Micro packs the rest into tags, each a prefix and ``encode(...)`` = lowercase hex
of the zlib-compressed bytes:

- ``v-`` + encode(version), exactly one per instance;
- ``t-`` + encode(JSON ``{"key": "value"}``), one per node metadata pair;
- ``e-`` + encode(JSON of an endpoint, Go's field names, nulls included), one per endpoint.

Older Go Micro releases wrote the same content unencoded after ``v=``, ``t=``, ``e=``;
those are read too. Service-level metadata, which Go Micro does not store, goes in one
``s-`` tag: Go Micro's decoders look only at tags starting with ``v``, ``t`` or ``e``,
so it passes them by. Any other tag is not ours and is ignored.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import msgspec

from micro_core.registry import Endpoint, Node, Service, Value

#: Largest decompressed tag accepted, so a hostile tag cannot exhaust memory.
MAX_TAG_BYTES = 1 << 20

VERSION, NODE_METADATA, ENDPOINT, SERVICE_METADATA = "v", "t", "e", "s"


NOT_MICRO = "no version tag (v-…): not registered by micro or Go Micro"


class TagError(ValueError):
    """A tag, or the set of tags of one instance, that micro cannot read."""


@dataclass
class Decoded:
    """What the tags of one Consul service instance say."""

    version: str
    node_metadata: dict[str, str] = field(default_factory=dict)
    endpoints: list[Endpoint] = field(default_factory=list)
    service_metadata: dict[str, str] = field(default_factory=dict)


def encode(data: bytes) -> str:
    return zlib.compress(data).hex()


def decode(text: str) -> bytes:
    """The bytes of ``encode``'s output; :class:`TagError` if it is not hex of zlib data."""
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(bytes.fromhex(text), MAX_TAG_BYTES)
    except (ValueError, zlib.error) as exc:
        raise TagError(f"not hex-encoded zlib data: {exc}") from None
    if inflater.unconsumed_tail:
        raise TagError(f"decompresses to more than {MAX_TAG_BYTES} bytes")
    if not inflater.eof:
        raise TagError("truncated zlib data")
    return data


# --- writing -----------------------------------------------------------------------------


def encode_tags(service: Service, node: Node) -> list[str]:
    """The tags of ``node`` of ``service``, as Go Micro writes them (plus ``s-`` if needed)."""
    tags = [_tag(NODE_METADATA, msgspec.json.encode({k: v})) for k, v in node.metadata.items()]
    tags += [_tag(ENDPOINT, msgspec.json.encode(_go_endpoint(e))) for e in service.endpoints]
    tags.append(_tag(VERSION, service.version.encode()))
    if service.metadata:
        tags.append(_tag(SERVICE_METADATA, msgspec.json.encode(service.metadata)))
    return tags


def _tag(kind: str, data: bytes) -> str:
    return f"{kind}-{encode(data)}"


def _go_endpoint(endpoint: Endpoint) -> dict[str, Any]:
    """An endpoint in the JSON shape of Go Micro's ``registry.Endpoint`` (no omitempty)."""
    return {
        "request": _go_value(endpoint.request),
        "response": _go_value(endpoint.response),
        "metadata": endpoint.metadata or None,
        "name": endpoint.name,
    }


def _go_value(value: Value | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"name": value.name, "type": value.type, "values": [_go_value(v) for v in value.values] or None}


# --- reading -----------------------------------------------------------------------------


def decode_tags(tags: list[str]) -> Decoded:
    """Read the tags of one instance; :class:`TagError` if one of ours is malformed or none is a version.

    The first version tag wins, as in Go Micro.
    """
    version: str | None = None
    decoded = Decoded("")
    for tag in tags:
        kind, sep, body = tag[:1], tag[1:2], tag[2:]
        if sep not in ("-", "=") or kind not in (VERSION, NODE_METADATA, ENDPOINT, SERVICE_METADATA):
            continue
        try:
            data = decode(body) if sep == "-" else body.encode()
            if kind == VERSION:
                if version is None:
                    version = data.decode()
            elif kind == NODE_METADATA:
                decoded.node_metadata.update(msgspec.json.decode(data, type=dict[str, str]))
            elif kind == SERVICE_METADATA:
                decoded.service_metadata.update(msgspec.json.decode(data, type=dict[str, str]))
            else:
                decoded.endpoints.append(msgspec.convert(_drop_nulls(msgspec.json.decode(data)), Endpoint))
        except (TagError, UnicodeDecodeError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise TagError(f"bad {kind}{sep} tag {_shorten(tag)}: {exc}") from None
    if version is None:
        raise TagError(NOT_MICRO)
    decoded.version = version
    return decoded


def has_version(tags: list[str]) -> bool:
    """Whether ``tags`` include a version tag: the mark of a micro or Go Micro registration."""
    return any(tag[:2] in ("v-", "v=") for tag in tags)


def _drop_nulls(data: Any) -> Any:
    """Go writes ``null`` for an empty map, slice or pointer; leaving the key out means the same."""
    if isinstance(data, dict):
        return {k: _drop_nulls(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_drop_nulls(v) for v in data]
    return data


def _shorten(tag: str, limit: int = 40) -> str:
    return repr(tag if len(tag) <= limit else tag[:limit] + "…")
