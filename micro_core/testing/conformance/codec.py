"""The codec conformance suite: every codec round-trips its values and rejects garbage cleanly."""

from __future__ import annotations

from typing import Any

import pytest

from micro_core.codec import Codec, CodecError


class CodecConformance:
    """Subclass, override ``codec`` and ``samples`` (``(value, type)`` pairs the codec carries)."""

    @pytest.fixture
    def codec(self) -> Codec:
        raise NotImplementedError("override the codec fixture")

    @pytest.fixture
    def samples(self) -> list[tuple[Any, Any]]:
        raise NotImplementedError("override the samples fixture")

    #: Bytes that are not a valid encoding of the first sample's type.
    garbage = b"\xff\x00 not a valid message \x01"

    def test_declares_content_types(self, codec: Codec) -> None:
        assert codec.content_types and all("/" in ct for ct in codec.content_types)
        assert codec.content_type == codec.content_types[0]

    def test_round_trip(self, codec: Codec, samples: list[tuple[Any, Any]]) -> None:
        for value, type_ in samples:
            assert codec.decode(codec.encode(value), type_) == value

    def test_garbage_is_a_codec_error_naming_the_type(
        self, codec: Codec, samples: list[tuple[Any, Any]]
    ) -> None:
        _, type_ = samples[0]
        with pytest.raises(CodecError) as raised:
            codec.decode(self.garbage, type_)
        assert raised.value.code == 400
        assert getattr(type_, "__name__", str(type_)) in raised.value.detail

    def test_encoding_is_bytes(self, codec: Codec, samples: list[tuple[Any, Any]]) -> None:
        for value, _ in samples:
            assert isinstance(codec.encode(value), bytes)
