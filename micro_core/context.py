"""The current call's metadata and deadline, carried by ``contextvars``.

A handler reads what arrived with its request (``metadata()``, ``deadline()``);
calls it makes on to other services carry the same metadata and never outlive
its deadline, without any parameter threading through user code.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar

_EMPTY: Mapping[str, str] = {}
_metadata: ContextVar[Mapping[str, str]] = ContextVar("micro_metadata", default=_EMPTY)
_deadline: ContextVar[float | None] = ContextVar("micro_deadline", default=None)


def metadata() -> Mapping[str, str]:
    """Headers that arrived with the call or event being handled (empty outside one)."""
    return _metadata.get()


def deadline() -> float | None:
    """``time.monotonic()`` value by which the current call must finish, if it has one."""
    return _deadline.get()


def remaining(default: float | None = None) -> float | None:
    """Seconds left before the current deadline (never negative), else ``default``."""
    until = _deadline.get()
    if until is None:
        return default
    left = max(until - time.monotonic(), 0.0)
    return left if default is None else min(left, default)


def enter(headers: Mapping[str, str], until: float | None) -> None:
    """Set the context of a call being served (used by the server in the handler's task)."""
    _metadata.set(headers)
    _deadline.set(until)


@contextlib.contextmanager
def with_metadata(**pairs: str) -> Iterator[None]:
    """Add metadata to every call and publish made inside the block."""
    token = _metadata.set({**_metadata.get(), **pairs})
    try:
        yield
    finally:
        _metadata.reset(token)


__all__ = ["deadline", "enter", "metadata", "remaining", "with_metadata"]
