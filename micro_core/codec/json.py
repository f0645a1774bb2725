"""``application/json``: the default codec, typed by the handler's own type hints.

msgspec decodes straight into dataclasses, ``msgspec.Struct``s, TypedDicts and
builtins, validating as it goes, so a malformed or mistyped body becomes a 400
that names the field instead of a crash inside the handler.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

import msgspec
import msgspec.inspect as mi

from micro_core.codec.base import Codec, CodecError
from micro_core.codec.shapes import describe_type


@lru_cache(maxsize=1024)
def _decoder(type_: Any) -> tuple[msgspec.json.Decoder[Any], bool]:
    """The decoder for ``type_``, and whether its values need :func:`_fill_defaults`."""
    return msgspec.json.Decoder(type_), _holds_dataclass(type_)


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
            decoder, sparse = _decoder(type)
            value = decoder.decode(data or b"null")
        except msgspec.ValidationError as exc:
            raise CodecError(f"invalid {_type_name(type)}: {exc}") from None
        except msgspec.DecodeError as exc:
            raise CodecError(f"malformed JSON for {_type_name(type)}: {exc}") from None
        if sparse:
            _fill_defaults(value)
        return value

    def describe(self, type: Any) -> Any:
        return describe_type(type)


def _holds_dataclass(type_: Any) -> bool:
    """Whether values of ``type_`` may hold a dataclass instance (at any depth)."""
    try:
        root = mi.type_info(type_)
    except (TypeError, ValueError):
        return False
    seen: set[int] = set()
    todo: list[Any] = [root]
    while todo:
        info = todo.pop()
        if id(info) in seen:
            continue
        seen.add(id(info))
        if isinstance(info, mi.DataclassType) and dataclasses.is_dataclass(info.cls):
            return True
        for name in ("item_type", "key_type", "value_type"):
            if hasattr(info, name):
                todo.append(getattr(info, name))
        todo.extend(getattr(info, "item_types", ()) or getattr(info, "types", ()))
        todo.extend(field.type for field in getattr(info, "fields", ()))
    return False


#: Per class: the fields with a plain default, or None for a class that is no dataclass.
_DEFAULTS: dict[type, tuple[tuple[str, Any], ...] | None] = {}
_LEAVES = frozenset({str, int, float, bool, bytes, type(None)})


def _fill_defaults(value: Any) -> None:
    """Put into each decoded dataclass instance the defaults msgspec left on its class.

    msgspec decodes a dataclass without setting the fields the message left out when the
    class already holds their default, and encodes a dataclass from its ``__dict__``: a
    value echoed back would then lose those fields (``qty`` read as 0 by a Go caller).
    """
    kind = type(value)
    if kind in _LEAVES:
        return
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        for item in value:
            _fill_defaults(item)
    elif kind is dict:
        for item in value.values():
            _fill_defaults(item)
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            _fill_defaults(getattr(value, name))
    else:
        if kind not in _DEFAULTS:
            _DEFAULTS[kind] = _plain_defaults(kind)
        defaults = _DEFAULTS[kind]
        attrs = getattr(value, "__dict__", None)
        if defaults is None or attrs is None:
            return
        for name, default in defaults:
            if name not in attrs:
                attrs[name] = default
        for item in attrs.values():
            _fill_defaults(item)


def _plain_defaults(cls: type) -> tuple[tuple[str, Any], ...] | None:
    if not dataclasses.is_dataclass(cls):
        return None
    return tuple(
        (field.name, field.default)
        for field in dataclasses.fields(cls)
        if field.default is not dataclasses.MISSING
    )


def _type_name(type_: Any) -> str:
    return getattr(type_, "__name__", None) or str(type_)
