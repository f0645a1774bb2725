"""One micro node as one Consul service instance, and back, the way Go Micro maps them.

The instance ID is the node id, the Consul service name the micro service name, the
address and port the node's ``host:port``; everything else travels in tags (see
:mod:`micro_registry_consul.encoding`). Node metadata is also copied to ``Meta`` for
Consul's own tools (UI, filters), leaving out what Consul would reject there.
"""

from __future__ import annotations

import re
from typing import Any

from micro_core.registry import Node, Service
from micro_registry_consul.encoding import TagError, decode_tags, encode_tags

#: Consul refuses a registration whose Meta breaks these rules; tags carry the full metadata.
_META_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")
_META_MAX_PAIRS = 64
_META_MAX_VALUE = 512

#: Consul's minimum for DeregisterCriticalServiceAfter; Go Micro adds 5 s to max(ttl, this).
_MIN_DEREGISTER_AFTER = 60.0


def check_id(node_id: str) -> str:
    """The id of a node's TTL check, the one Go Micro passes: ``service:<node id>``."""
    return f"service:{node_id}"


def go_duration(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too) as host and port; ``ValueError`` if there is no port."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"node address {address!r} is not host:port")
    return host.removeprefix("[").removesuffix("]"), int(port)


def join_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def registration(entry: Service, ttl: float) -> dict[str, Any]:
    """Keyword arguments of ``agent.service.register`` for ``entry``, which holds one node."""
    node = entry.nodes[0]
    if "/" in node.id:
        raise ValueError(f"node id {node.id!r} contains '/', which Consul's HTTP API cannot address")
    host, port = split_address(node.address)
    check = {
        "CheckID": check_id(node.id),
        "TTL": go_duration(ttl),
        "Status": "passing",
        "DeregisterCriticalServiceAfter": go_duration(max(ttl, _MIN_DEREGISTER_AFTER) + 5),
    }
    return {
        "name": entry.name,
        "service_id": node.id,
        "address": host,
        "port": port,
        "tags": encode_tags(entry, node),
        "meta": _meta(node.metadata),
        "check": check,
        "replace_existing_checks": True,
    }


def _meta(metadata: dict[str, str]) -> dict[str, str]:
    valid = {
        key: value
        for key, value in metadata.items()
        if _META_KEY.fullmatch(key) and not key.startswith("consul-") and len(value) <= _META_MAX_VALUE
    }
    return dict(list(valid.items())[:_META_MAX_PAIRS])


def from_health(item: dict[str, Any]) -> Service:
    """The micro entry (one node) for an item of ``/v1/health/service/<name>``; ``TagError`` if not ours."""
    try:
        instance = item["Service"]
        name, node_id, tags = instance["Service"], instance["ID"], instance["Tags"] or []
        host = instance["Address"] or item["Node"]["Address"]
        port = int(instance["Port"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TagError(f"not a Consul service entry: {exc!r}") from None
    decoded = decode_tags(tags)
    return Service(
        name,
        decoded.version,
        metadata=decoded.service_metadata,
        endpoints=decoded.endpoints,
        nodes=[Node(node_id, join_address(host, port), decoded.node_metadata)],
    )


def all_passing(item: dict[str, Any]) -> bool:
    """Whether every check of a health item passes: the instances Consul's ``passing`` filter keeps."""
    return all(check.get("Status") == "passing" for check in item.get("Checks") or [])


def ttl_lapsed(item: dict[str, Any]) -> bool:
    """Whether the instance's own TTL check is critical: its node stopped renewing it in time."""
    lapsed = check_id(item.get("Service", {}).get("ID", ""))
    return any(
        check.get("CheckID") == lapsed and check.get("Status") == "critical"
        for check in item.get("Checks") or []
    )


def changed_at(item: dict[str, Any]) -> int:
    """The Raft index of the last change to an instance or its checks: newer than a watch's start?"""
    indexes = [item.get("Service", {}).get("ModifyIndex", 0)]
    indexes += [check.get("ModifyIndex", 0) for check in item.get("Checks") or []]
    return max(int(i) for i in indexes)
