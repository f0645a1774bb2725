"""Consul registry for micro: ``--registry consul --registry-address 127.0.0.1:8500``."""

from micro_registry_consul._agents import TLS
from micro_registry_consul.encoding import TagError, decode_tags, encode_tags
from micro_registry_consul.registry import ConsulRegistry

__all__ = ["TLS", "ConsulRegistry", "TagError", "decode_tags", "encode_tags"]
