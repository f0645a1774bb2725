"""``application/json``: the default codec, typed by the handler's own type hints.

msgspec decodes straight into dataclasses, ``msgspec.Struct``s, TypedDicts and
builtins, validating as it goes, so a malformed or mistyped body becomes a 400
that names the field instead of a crash inside the handler.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import msgspec

from micro_core.codec.base import Codec, CodecError
from micro_core.codec.shapes import describe_type


@lru_cache(maxsize=1024)
def _decoder(type_: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(type_)


_encoder = msgspec.json.Encoder()


class JSONCodec(Codec):
    content_types = ("application/json",)

    def encode(self, value: Any) -> bytes:
        try:
            return _encoder.encode(value)
        except (TypeError, msgspec.EncodeError) as exc:
            raise CodecError(f"cannot encode {type(value).__name__} as JSON: {exc}") from None

    def decode(self, data: bytes, type: Any = None) -> Any:
        if type is None:
            type = Any
        try:
            return _decoder(type).decode(data or b"null")
        except msgspec.ValidationError as exc:
            raise CodecError(f"invalid {_type_name(type)}: {exc}") from None
        except msgspec.DecodeError as exc:
            raise CodecError(f"malformed JSON for {_type_name(type)}: {exc}") from None

    def describe(self, type: Any) -> Any:
        return describe_type(type)


def _type_name(type_: Any) -> str:
    return getattr(type_, "__name__", None) or str(type_)
