"""``application/protobuf`` and ``application/grpc+proto``: messages as their wire bytes.

The handler's type hint names the generated message class the body decodes into; the
server passes it to :meth:`ProtobufCodec.decode`. Protobuf carries no type on the wire,
so without a message class the body stays raw bytes.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import DecodeError, EncodeError, Message

from micro_codec_protobuf.shapes import describe_message
from micro_codec_protobuf.types import is_message_type
from micro_core.codec import Codec, CodecError
from micro_core.registry.model import Value


class ProtobufCodec(Codec):
    content_types = ("application/protobuf", "application/x-protobuf")

    def encode(self, value: Any) -> bytes:
        if value is None:
            return b""  # no request: the empty message, which every message type decodes
        if not isinstance(value, Message):
            raise CodecError(f"{self.content_type} carries protobuf messages, not {type(value).__name__}")
        try:
            return value.SerializeToString()
        except EncodeError as exc:
            raise CodecError(f"cannot encode {value.DESCRIPTOR.full_name}: {exc}") from None

    def decode(self, data: bytes, type: Any = None) -> Any:
        if not is_message_type(type):
            if type is None or type is Any or type is bytes:
                return bytes(data)
            name = getattr(type, "__name__", str(type))
            raise CodecError(f"{self.content_type} decodes into protobuf messages, not {name}")
        message = type()
        try:
            message.ParseFromString(data)
        except DecodeError as exc:
            raise CodecError(
                f"malformed {type.__name__} ({type.DESCRIPTOR.full_name}): {exc}", id="micro.codec.protobuf"
            ) from None
        return message

    def describe(self, type: Any) -> Value | None:
        return describe_message(type)


class GRPCCodec(ProtobufCodec):
    """The same bytes under gRPC's content types: the gRPC transport itself adds the
    5-byte length prefix, so the codec must not frame the body a second time."""

    content_types = ("application/grpc+proto", "application/grpc")


__all__ = ["GRPCCodec", "ProtobufCodec"]
