"""Transports: how framed messages travel between a client and a server."""

from micro_core.transport.base import (
    DEFAULT_MAX_MESSAGE_SIZE,
    Connection,
    EndOfStream,
    Listener,
    Message,
    ServerHandler,
    Stream,
    Transport,
)
from micro_core.transport.limits import ServerLimits

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "Connection",
    "EndOfStream",
    "Listener",
    "Message",
    "ServerHandler",
    "ServerLimits",
    "Stream",
    "Transport",
]
