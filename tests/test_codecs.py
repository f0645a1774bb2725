"""The built-in codecs pass the codec conformance suite."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest

from micro_core.codec import Codec, CodecError
from micro_core.codec.json import JSONCodec
from micro_core.codec.raw import RawCodec
from micro_core.testing.conformance.codec import CodecConformance


@dataclass
class Order:
    id: int
    items: list[str] = field(default_factory=list)
    note: str | None = None


class Point(msgspec.Struct):
    x: float
    y: float


class TestJSONCodec(CodecConformance):
    @pytest.fixture
    def codec(self) -> Codec:
        return JSONCodec()

    @pytest.fixture
    def samples(self) -> list[tuple[Any, Any]]:
        return [(Order(1, ["tea"]), Order), (Point(1.5, -2), Point), ({"a": [1, None]}, None), ("text", str)]

    def test_wrong_field_type_names_the_field(self, codec: Codec) -> None:
        with pytest.raises(CodecError, match=r"\$\.items\[0\]"):
            codec.decode(b'{"id": 1, "items": [3]}', Order)

    def test_describe_gives_the_registry_shape(self, codec: Codec) -> None:
        shape = codec.describe(Order)
        assert [(v.name, v.type) for v in shape.values] == [
            ("id", "int64"),
            ("items", "[]string"),
            ("note", "string|null"),
        ]


class TestRawCodec(CodecConformance):
    garbage = b""  # every byte string is valid raw data: the garbage test does not apply

    @pytest.fixture
    def codec(self) -> Codec:
        return RawCodec()

    @pytest.fixture
    def samples(self) -> list[tuple[Any, Any]]:
        return [(b"\x00\x01binary", bytes)]

    def test_garbage_is_a_codec_error_naming_the_type(
        self, codec: Codec, samples: list[tuple[Any, Any]]
    ) -> None:
        with pytest.raises(CodecError, match="carries bytes, not int"):
            codec.encode(42)


@dataclass
class Item:
    sku: str
    qty: int = 1


class Basket(msgspec.Struct):
    items: list[Item]
    owner: str = "guest"


def test_a_decoded_value_is_encoded_with_every_field_even_at_its_default() -> None:
    """A handler that echoes what it decoded must not drop ``qty``: a Go caller would read it as 0."""
    codec = JSONCodec()
    assert msgspec.json.decode(codec.encode(codec.decode(b'{"sku": "a"}', Item))) == {"sku": "a", "qty": 1}
    basket = codec.decode(b'{"items": [{"sku": "a"}, {"sku": "b", "qty": 3}]}', Basket)
    assert msgspec.json.decode(codec.encode(basket)) == {
        "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 3}],
        "owner": "guest",
    }
    assert msgspec.json.decode(codec.encode(codec.decode(b'{"x": {"sku": "c"}}', dict[str, Item]))) == {
        "x": {"sku": "c", "qty": 1}
    }
