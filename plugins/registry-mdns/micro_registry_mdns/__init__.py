"""mDNS registry for micro: services find each other on a LAN with no registry server.

Names and TXT records follow Go Micro's mDNS registry, so Go Micro and micro services
on the same network see each other. Names are imported on first use, so that
autoloading this package's options (``micro_registry_mdns.plugin``) does not import
zeroconf when mDNS is not the registry.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from micro_registry_mdns._txt import TxtError, decode_txt, encode_txt
    from micro_registry_mdns.registry import MDNSRegistry

_HOMES = {
    "TxtError": "micro_registry_mdns._txt",
    "decode_txt": "micro_registry_mdns._txt",
    "encode_txt": "micro_registry_mdns._txt",
    "MDNSRegistry": "micro_registry_mdns.registry",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)


__all__ = ["MDNSRegistry", "TxtError", "decode_txt", "encode_txt"]
