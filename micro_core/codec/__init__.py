"""Codecs: how request, response and event values become bytes, chosen by content type."""

from micro_core.codec.base import Codec, CodecError
from micro_core.codec.shapes import describe_type

__all__ = ["Codec", "CodecError", "describe_type"]
