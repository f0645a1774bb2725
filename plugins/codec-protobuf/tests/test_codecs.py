"""The codecs on their own: conformance, registry shapes from descriptors, JSON for messages."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from google.protobuf import struct_pb2, timestamp_pb2, wrappers_pb2

from micro_codec_protobuf import GRPCCodec, ProtobufCodec, ProtobufJSONCodec
from micro_core.codec import Codec, CodecError
from micro_core.options import Options
from micro_core.plugins import Plugins
from micro_core.registry import Value
from micro_core.testing.conformance.codec import CodecConformance

WELL_KNOWN: list[tuple[Any, Any]] = [
    (wrappers_pb2.StringValue(value="héllo"), wrappers_pb2.StringValue),
    (timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=5), timestamp_pb2.Timestamp),
    (struct_pb2.Struct(fields={"a": struct_pb2.Value(number_value=1.5)}), struct_pb2.Struct),
    (wrappers_pb2.Int64Value(), wrappers_pb2.Int64Value),
]


@dataclass
class Order:
    item: str
    quantity: int = 1


class TestProtobufCodec(CodecConformance):
    @pytest.fixture
    def codec(self) -> Codec:
        return ProtobufCodec()

    @pytest.fixture
    def samples(self) -> list[tuple[Any, Any]]:
        return WELL_KNOWN


class TestGRPCCodec(TestProtobufCodec):
    @pytest.fixture
    def codec(self) -> Codec:
        return GRPCCodec()


class TestProtobufJSONCodec(CodecConformance):
    """Messages as JSON, and everything else exactly as the kernel's JSON codec does it."""

    @pytest.fixture
    def codec(self) -> Codec:
        return ProtobufJSONCodec()

    @pytest.fixture
    def samples(self) -> list[tuple[Any, Any]]:
        return [*WELL_KNOWN, (Order("tea", 2), Order), ({"a": [1, None]}, dict[str, Any]), ("x", str)]


def test_installed_entry_points_answer_each_content_type() -> None:
    plugins, options = Plugins(), Options()
    assert type(plugins.codec("application/protobuf", options)) is ProtobufCodec
    assert type(plugins.codec("application/x-protobuf", options)) is ProtobufCodec
    assert type(plugins.codec("application/grpc+proto", options)) is GRPCCodec
    assert type(plugins.codec("application/grpc", options)) is GRPCCodec
    assert type(plugins.codec("application/json; charset=utf-8", options)) is ProtobufJSONCodec


def test_without_plugin_autoload_json_is_the_kernels_own() -> None:
    codec = Plugins(autoload=False).codec("application/json", Options())
    assert not isinstance(codec, ProtobufJSONCodec)


def test_protobuf_bytes_are_the_message_wire_format(pb: ModuleType) -> None:
    request = pb.HelloRequest(name="Ada", tags=["x"])
    assert ProtobufCodec().encode(request) == request.SerializeToString()
    assert ProtobufCodec().encode(None) == b""
    assert ProtobufCodec().decode(b"", pb.HelloRequest) == pb.HelloRequest()


def test_bad_input_is_a_400_naming_the_message_type(pb: ModuleType) -> None:
    with pytest.raises(CodecError) as raised:
        ProtobufCodec().decode(b"\x0a\x05Ad", pb.HelloRequest)  # a string field cut short
    assert raised.value.code == 400
    assert "HelloRequest" in raised.value.detail and "helloworld.HelloRequest" in raised.value.detail
    with pytest.raises(CodecError, match="not Order"):
        ProtobufCodec().encode(Order("tea"))
    with pytest.raises(CodecError, match="decodes into protobuf messages, not Order"):
        ProtobufCodec().decode(b"", Order)


def test_without_a_message_class_the_body_stays_bytes() -> None:
    assert ProtobufCodec().decode(b"\x08\x01") == b"\x08\x01"


def test_json_in_and_out_uses_proto_field_names(pb: ModuleType) -> None:
    codec = ProtobufJSONCodec()
    request = codec.decode(b'{"name": "Ada", "options": {"shout": true}, "mood": "HAPPY"}', pb.HelloRequest)
    assert request == pb.HelloRequest(name="Ada", options=pb.HelloRequest.Options(shout=True), mood=pb.HAPPY)
    assert codec.decode(b"", pb.HelloRequest) == pb.HelloRequest()
    assert codec.encode(pb.HelloReply(message="hi")) == b'{"message": "hi"}'
    with pytest.raises(CodecError) as raised:
        codec.decode(b'{"name": 5}', pb.HelloRequest)
    assert raised.value.code == 400 and "HelloRequest" in raised.value.detail


def test_shapes_come_from_the_descriptors(pb: ModuleType) -> None:
    expected = Value(
        name="",
        type="HelloRequest",
        values=[
            Value("name", "string"),
            Value("tags", "[]string"),
            Value("scores", "map[string]int64"),
            Value("options", "Options", [Value("shout", "bool")]),
            Value("mood", "Mood"),
        ],
    )
    assert ProtobufCodec().describe(pb.HelloRequest) == expected
    assert ProtobufJSONCodec().describe(pb.HelloRequest) == expected
    assert ProtobufJSONCodec().describe(Order) == Value(
        "", "Order", [Value("item", "string"), Value("quantity", "int64")]
    )
    assert ProtobufCodec().describe(Order) is None


def test_deep_messages_are_named_not_expanded() -> None:
    shape = ProtobufCodec().describe(struct_pb2.Struct)
    # Struct → fields: map<string, Value>; Value → list_value → ListValue → values → Value …
    assert shape == Value("", "Struct", [Value("fields", "map[string]Value")])
    value = ProtobufCodec().describe(struct_pb2.Value)
    assert value is not None
    list_value = next(v for v in value.values if v.name == "list_value")
    [values] = list_value.values
    assert values.type == "[]Value" and all(not v.values for v in values.values)
