"""Registry shapes of protobuf messages, read from their descriptors.

Published as the same ``Value{name, type, values}`` trees the kernel builds from type
hints, with proto field names and Go's type names (``int32``, ``[]string``,
``map[string]int64``), so ``micro describe`` shows what a Go service would publish.
"""

from __future__ import annotations

from typing import Any, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from micro_codec_protobuf.types import is_message_type
from micro_core.registry.model import Value

_MAX_DEPTH = 3  # as the kernel's shapes: deeper messages are named, not expanded

_F = FieldDescriptor
_SCALARS = {
    _F.TYPE_DOUBLE: "float64",
    _F.TYPE_FLOAT: "float32",
    _F.TYPE_INT64: "int64",
    _F.TYPE_SINT64: "int64",
    _F.TYPE_SFIXED64: "int64",
    _F.TYPE_UINT64: "uint64",
    _F.TYPE_FIXED64: "uint64",
    _F.TYPE_INT32: "int32",
    _F.TYPE_SINT32: "int32",
    _F.TYPE_SFIXED32: "int32",
    _F.TYPE_UINT32: "uint32",
    _F.TYPE_FIXED32: "uint32",
    _F.TYPE_BOOL: "bool",
    _F.TYPE_STRING: "string",
    _F.TYPE_BYTES: "bytes",
}


def describe_message(type_: Any) -> Value | None:
    """The shape of a message class, or None when ``type_`` is not one."""
    if not is_message_type(type_):
        return None
    # The C (upb) descriptor the runtime hands out has the pure-Python class's interface.
    return _message(cast(Descriptor, type_.DESCRIPTOR), "", 0)


def _message(descriptor: Descriptor, name: str, depth: int) -> Value:
    value = Value(name=name, type=descriptor.name)
    if depth < _MAX_DEPTH:
        value.values = [_field(field, depth + 1) for field in descriptor.fields]
    return value


def _field(field: FieldDescriptor, depth: int) -> Value:
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        key, item = entry.fields_by_name["key"], entry.fields_by_name["value"]
        return Value(name=field.name, type=f"map[{_type_name(key)}]{_type_name(item)}")
    value = _message(entry, field.name, depth) if entry is not None else Value(field.name, _type_name(field))
    if field.is_repeated:
        value.type = "[]" + value.type
    return value


def _type_name(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        return str(field.message_type.name)
    if field.enum_type is not None:
        return str(field.enum_type.name)
    return _SCALARS[field.type]


__all__ = ["describe_message"]
