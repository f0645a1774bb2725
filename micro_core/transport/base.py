"""What every transport does: carry framed messages ``{header, body}`` between client and server.

A transport knows nothing of services or codecs. The server gives a listener a
:class:`ServerHandler`; the client dials a :class:`Connection` that multiplexes
concurrent calls and streams.
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, ClassVar, Protocol

from micro_core.options import Options
from micro_core.tls import TLSConfig
from micro_core.transport.limits import ServerLimits

if TYPE_CHECKING:
    from micro_core.registry.model import Node

#: Largest body a transport accepts unless configured otherwise (4 MiB).
DEFAULT_MAX_MESSAGE_SIZE = 4 * 1024 * 1024


class Message:
    """One frame: string headers and an opaque body."""

    __slots__ = ("body", "header")

    def __init__(self, header: dict[str, str] | None = None, body: bytes = b"") -> None:
        self.header: dict[str, str] = header if header is not None else {}
        self.body = body

    def __repr__(self) -> str:
        return f"Message(header={self.header!r}, body={self.body[:64]!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.header, self.body) == (other.header, other.body)


class EndOfStream(Exception):
    """The peer closed its sending side of a stream; raised by :meth:`Stream.recv`."""


class Stream(abc.ABC):
    """Both ends of a bidirectional stream of messages."""

    @abc.abstractmethod
    async def send(self, message: Message) -> None: ...

    @abc.abstractmethod
    async def recv(self) -> Message:
        """The next message; raises :class:`EndOfStream` once the peer is done sending."""

    @abc.abstractmethod
    async def close_send(self) -> None:
        """Tell the peer nothing more will be sent."""

    @abc.abstractmethod
    async def close(self, error: Message | None = None) -> None:
        """End the stream in both directions; ``error`` (a Micro-Error message) goes to the peer."""


class ServerHandler(Protocol):
    """What a listener hands each inbound request or stream to (the server implements it)."""

    async def unary(self, request: Message) -> Message: ...

    async def stream(self, request: Message, stream: Stream) -> None: ...


class Listener(abc.ABC):
    """A bound server socket; ``address`` is the real "host:port" (port 0 resolved)."""

    address: str

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop accepting and close connections; in-flight handlers are the server's to drain."""


class Connection(abc.ABC):
    """A client connection that carries many concurrent calls."""

    @property
    @abc.abstractmethod
    def closed(self) -> bool: ...

    @abc.abstractmethod
    async def call(self, request: Message, timeout: float | None = None) -> Message:
        """Send one request and wait for its reply; ``TimeoutError`` after ``timeout`` seconds."""

    @abc.abstractmethod
    async def stream(self, request: Message) -> Stream:
        """Open a stream whose first message is ``request``."""

    @abc.abstractmethod
    async def close(self) -> None: ...


class Transport(abc.ABC):
    """Dial and listen; one instance serves a whole process."""

    #: The driver's name, as selected with ``--transport`` / ``MICRO_TRANSPORT``.
    name: ClassVar[str]

    def __init__(
        self,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        *,
        limits: ServerLimits | None = None,
        tls: TLSConfig | None = None,
    ) -> None:
        """``limits`` bound what each client may hold of a server; ``tls`` puts every
        connection, both ways, on TLS (mutual with a CA). A transport without a network
        ignores both."""
        self.max_message_size = max_message_size
        self.limits = limits or ServerLimits()
        self.tls = tls
        if tls is not None:
            self._load_tls(tls)

    def _load_tls(self, tls: TLSConfig) -> None:
        """Load the TLS files now, so that a bad one fails at start-up, naming the setting."""

    @classmethod
    def from_options(cls, options: Options) -> Transport:
        return cls(
            options["max_message_size"],
            limits=ServerLimits.from_options(options),
            tls=TLSConfig.from_options(options),
        )

    @abc.abstractmethod
    async def dial(self, address: str, timeout: float | None = None) -> Connection:
        """Connect to "host:port"; raise ``ConnectionError`` naming the address on failure."""

    async def connect(self, node: Node, timeout: float | None = None) -> Connection:
        """The connection the client keeps for ``node``: :meth:`dial` unless the transport
        speaks differently to some peers, told apart by what they registered (the HTTP
        transport pools one-call connections to Go Micro nodes)."""
        return await self.dial(node.address, timeout)

    @abc.abstractmethod
    async def listen(self, address: str, handler: ServerHandler) -> Listener:
        """Serve ``handler`` at "host:port" (port 0 picks a free one)."""
