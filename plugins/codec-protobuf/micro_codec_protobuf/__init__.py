"""Protobuf for micro: codecs, registry shapes from descriptors, JSON transcoding, and a
generator of typed clients and server bases (``micro gen``, ``protoc-gen-micro``).

Names are imported on first use, so that autoloading the plugin imports no protobuf.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from micro_codec_protobuf.codec import GRPCCodec, ProtobufCodec
    from micro_codec_protobuf.json import ProtobufJSONCodec
    from micro_codec_protobuf.shapes import describe_message
    from micro_codec_protobuf.types import is_message_type

_MODULE_OF = {
    "GRPCCodec": "codec",
    "ProtobufCodec": "codec",
    "ProtobufJSONCodec": "json",
    "describe_message": "shapes",
    "is_message_type": "types",
}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'micro_codec_protobuf' has no attribute {name!r}")
    return getattr(importlib.import_module(f"micro_codec_protobuf.{module}"), name)


__all__ = ["GRPCCodec", "ProtobufCodec", "ProtobufJSONCodec", "describe_message", "is_message_type"]
