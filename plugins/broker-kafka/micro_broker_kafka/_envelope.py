"""The record value: Go Micro's Kafka format, one JSON object holding a message's headers and body.

Go Micro's Kafka broker writes the whole broker message, ``{"Header": {...}, "Body":
"<base64>"}``, as the record value and sends no record headers; micro does the same,
so Python and Go services share topics. It is also the cheaper format here: one value
encoded in C, where every record header costs kafka-python pure-Python work on both
sides. A record that is not such an envelope (written by a plain Kafka producer) is
delivered as it is: its value is the body, its record headers the headers (bytes that
are not UTF-8 replaced, so the message can still be dead-lettered as JSON).
"""

from __future__ import annotations

from typing import Any

import msgspec

from micro_core import headers
from micro_core.transport import Message


class _Envelope(msgspec.Struct, forbid_unknown_fields=True):
    """Go Micro's ``broker.Message`` as its JSON codec writes it (a nil map or slice is null)."""

    Header: dict[str, str] | None
    Body: bytes | None


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_Envelope).decode


def encode(message: Message) -> bytes:
    """The record value for ``message``."""
    return _encode(_Envelope(message.header, message.body))


def decode(record: Any) -> Message:
    """The message a record carries; ``Micro-Topic`` is the topic it was read from."""
    value: bytes = record.value or b""
    try:
        envelope = _decode(value) if value[:1] == b"{" else None
    except msgspec.DecodeError:
        envelope = None
    if envelope is None:
        header = {name: (raw or b"").decode("utf-8", "replace") for name, raw in record.headers or ()}
        message = Message(header, value)
    else:
        message = Message(envelope.Header or {}, envelope.Body or b"")
    message.header[headers.TOPIC] = record.topic
    return message
