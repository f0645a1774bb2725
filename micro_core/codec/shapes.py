"""Request and response shapes for the registry, derived from Python type hints.

Published as Go Micro's ``Value{name, type, values}`` tree so that ``micro describe``,
the API gateway and Go tools see the same field lists a Go service would publish.
"""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi

from micro_core.registry.model import Value

_MAX_DEPTH = 3  # Go Micro stops at three levels too; deeper types are named, not expanded.


def describe_type(type_: Any, name: str = "") -> Value | None:
    """The shape of ``type_`` as a Value tree, or None when it says nothing (``Any``)."""
    if type_ is None or type_ is Any:
        return None
    try:
        info = mi.type_info(type_)
    except (TypeError, ValueError):
        return Value(name=name, type=getattr(type_, "__name__", str(type_)))
    return _describe(info, name, 0)


def _describe(info: mi.Type, name: str, depth: int) -> Value:
    fields = _fields(info)
    value = Value(name=name, type=_name(info))
    if fields is not None and depth < _MAX_DEPTH:
        value.values = [_describe(f.type, f.encode_name, depth + 1) for f in fields]
    return value


def _fields(info: mi.Type) -> tuple[mi.Field, ...] | None:
    if isinstance(info, (mi.StructType, mi.DataclassType, mi.TypedDictType, mi.NamedTupleType)):
        return info.fields
    return None


def _name(info: mi.Type) -> str:
    if isinstance(info, (mi.StructType, mi.DataclassType, mi.TypedDictType, mi.NamedTupleType)):
        return str(info.cls.__name__)
    if isinstance(info, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return "[]" + _name(info.item_type)
    if isinstance(info, mi.DictType):
        return f"map[{_name(info.key_type)}]{_name(info.value_type)}"
    if isinstance(info, mi.UnionType):
        return "|".join(_name(t) for t in info.types)
    simple = {
        mi.StrType: "string",
        mi.IntType: "int64",
        mi.FloatType: "float64",
        mi.BoolType: "bool",
        mi.BytesType: "bytes",
        mi.NoneType: "null",
        mi.AnyType: "any",
    }
    for cls, text in simple.items():
        if isinstance(info, cls):
            return text
    return type(info).__name__.removesuffix("Type").lower()


__all__ = ["describe_type"]
