"""What every codec does: turn values into bytes of one content type and back."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from micro_core.errors import BadRequest
from micro_core.options import Options


class CodecError(BadRequest):
    """Bytes that do not decode as the expected type, or a value that cannot be encoded."""


class Codec(abc.ABC):
    """Encoding for one or more content types (``application/json``, …)."""

    #: The content types this codec answers for; the first is the one it writes.
    content_types: ClassVar[tuple[str, ...]]

    @classmethod
    def from_options(cls, options: Options) -> Codec:
        return cls()

    @property
    def content_type(self) -> str:
        return self.content_types[0]

    @abc.abstractmethod
    def encode(self, value: Any) -> bytes:
        """Bytes for ``value``; raise :class:`CodecError` if it cannot be encoded."""

    @abc.abstractmethod
    def decode(self, data: bytes, type: Any = None) -> Any:
        """A value of ``type`` (or the codec's natural type when None); :class:`CodecError` if malformed."""

    def describe(self, type: Any) -> Any:
        """The registry shape (:class:`~micro_core.registry.Value`) of ``type``, or None if unknown."""
        return None
