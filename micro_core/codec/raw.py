"""``application/octet-stream``: bodies passed through untouched, for callers that bring their own bytes."""

from __future__ import annotations

from typing import Any

from micro_core.codec.base import Codec, CodecError


class RawCodec(Codec):
    content_types = ("application/octet-stream",)

    def encode(self, value: Any) -> bytes:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        if value is None:
            return b""
        raise CodecError(f"application/octet-stream carries bytes, not {type(value).__name__}")

    def decode(self, data: bytes, type: Any = None) -> Any:
        return data
