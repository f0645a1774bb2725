"""Whether a type is a protobuf message class, answered without importing protobuf.

A message class cannot exist before ``google.protobuf.message`` is imported, so a process
that never touches protobuf pays nothing for having this distribution installed: the
JSON codec it extends asks this question on every call.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    from google.protobuf.message import Message


def is_message_type(type_: Any) -> TypeGuard[type[Message]]:
    """Whether ``type_`` is a generated protobuf message class."""
    module = sys.modules.get("google.protobuf.message")
    return module is not None and isinstance(type_, type) and issubclass(type_, module.Message)


__all__ = ["is_message_type"]
