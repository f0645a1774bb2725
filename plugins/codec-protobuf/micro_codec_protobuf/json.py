"""``application/json`` that also speaks protobuf: operators call protobuf endpoints with JSON.

``micro call greeter Greeter.Hello '{"name": "Ada"}'`` sends JSON; the server decodes
it straight into the handler's hinted message class with ``json_format`` and answers
with the message as JSON, so nobody hand-encodes protobuf. Every other type goes to the
kernel's JSON codec unchanged, and protobuf itself is imported only once a message shows
up. Field names in replies are the proto names, as in the registry shapes; requests may
use proto or JSON (lowerCamel) names.
"""

from __future__ import annotations

from typing import Any

from micro_codec_protobuf.types import is_message_type
from micro_core.codec import CodecError
from micro_core.codec.json import JSONCodec
from micro_core.registry.model import Value


class ProtobufJSONCodec(JSONCodec):
    """The kernel's JSON codec, extended to protobuf message types."""

    def encode(self, value: Any) -> bytes:
        if not is_message_type(type(value)):
            return super().encode(value)
        from google.protobuf import json_format

        return json_format.MessageToJson(value, indent=None, preserving_proto_field_name=True).encode()

    def decode(self, data: bytes, type: Any = None) -> Any:
        if not is_message_type(type):
            return super().decode(data, type)
        from google.protobuf import json_format

        try:
            return json_format.Parse(data or b"{}", type())
        except (json_format.ParseError, UnicodeDecodeError) as exc:
            raise CodecError(
                f"invalid {type.__name__} ({type.DESCRIPTOR.full_name}) in JSON: {exc}", id="micro.codec.json"
            ) from None

    def describe(self, type: Any) -> Value | None:
        if not is_message_type(type):
            shape: Value | None = super().describe(type)
            return shape
        from micro_codec_protobuf.shapes import describe_message

        return describe_message(type)


__all__ = ["ProtobufJSONCodec"]
