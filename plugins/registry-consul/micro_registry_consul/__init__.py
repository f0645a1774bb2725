"""Consul registry for micro: ``--registry consul --registry-address 127.0.0.1:8500``."""

from typing import TYPE_CHECKING

from micro_core.plugins import lazy_exports

if TYPE_CHECKING:
    from micro_registry_consul._agents import TLS
    from micro_registry_consul.encoding import TagError, decode_tags, encode_tags
    from micro_registry_consul.registry import ConsulRegistry

__getattr__ = lazy_exports(
    __name__,
    {
        "TLS": "._agents",
        "TagError": ".encoding",
        "decode_tags": ".encoding",
        "encode_tags": ".encoding",
        "ConsulRegistry": ".registry",
    },
)
__all__ = ["TLS", "ConsulRegistry", "TagError", "decode_tags", "encode_tags"]
