"""Codecs: how request, response and event values become bytes, chosen by content type."""

from micro_core.codec.base import Codec, CodecError

__all__ = ["Codec", "CodecError"]
