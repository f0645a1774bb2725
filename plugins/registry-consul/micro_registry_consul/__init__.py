"""Consul registry for micro: ``--registry consul --registry-address 127.0.0.1:8500``.

Names are imported on first use, so that autoloading this package's options
(``micro_registry_consul.plugin``) costs nothing when Consul is not the registry.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from micro_registry_consul._agents import TLS
    from micro_registry_consul.encoding import TagError, decode_tags, encode_tags
    from micro_registry_consul.registry import ConsulRegistry

_HOMES = {
    "TLS": "micro_registry_consul._agents",
    "TagError": "micro_registry_consul.encoding",
    "decode_tags": "micro_registry_consul.encoding",
    "encode_tags": "micro_registry_consul.encoding",
    "ConsulRegistry": "micro_registry_consul.registry",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


__all__ = ["TLS", "ConsulRegistry", "TagError", "decode_tags", "encode_tags"]
