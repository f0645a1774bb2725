"""mDNS registry for micro: services find each other on a LAN with no registry server.

Names and TXT records follow Go Micro's mDNS registry, so Go Micro and micro services
on the same network see each other.
"""

from typing import TYPE_CHECKING

from micro_core.plugins import lazy_exports

if TYPE_CHECKING:
    from micro_registry_mdns._txt import TxtError, decode_txt, encode_txt
    from micro_registry_mdns.registry import MDNSRegistry

__getattr__ = lazy_exports(
    __name__, {"TxtError": "._txt", "decode_txt": "._txt", "encode_txt": "._txt", "MDNSRegistry": ".registry"}
)
__all__ = ["MDNSRegistry", "TxtError", "decode_txt", "encode_txt"]
