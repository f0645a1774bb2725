"""mDNS registry for micro: services find each other on a LAN with no registry server.

Names and TXT records follow Go Micro's mDNS registry, so Go Micro and micro services
on the same network see each other.
"""

from micro_registry_mdns._txt import TxtError, decode_txt, encode_txt
from micro_registry_mdns.registry import MDNSRegistry

__all__ = ["MDNSRegistry", "TxtError", "decode_txt", "encode_txt"]
