"""The transport conformance suite: what every transport guarantees to the client and server above it.

A transport's tests subclass :class:`TransportConformance` and override the
``transport`` fixture (and ``address``, where "127.0.0.1:0" means nothing)::

    class TestHTTPTransport(TransportConformance):
        @pytest.fixture
        def transport(self) -> Transport:
            return HTTPTransport()
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import pytest

from micro_core import errors, headers
from micro_core.testing.tls import TLSFiles
from micro_core.tls import TLSConfig
from micro_core.transport import Connection, EndOfStream, Listener, Message, Stream, Transport

if TYPE_CHECKING:
    import trustme

UnaryFunc = Callable[[Message], Awaitable[Message]]
StreamFunc = Callable[[Message, Stream], Awaitable[None]]


async def echo(request: Message) -> Message:
    return Message({"X-Echo": "yes"}, request.body)


async def no_streams(request: Message, stream: Stream) -> None:
    raise AssertionError("this handler serves no streams")


class Handler:
    """A ``ServerHandler`` made of two functions, so each test states only what it needs."""

    def __init__(self, unary: UnaryFunc = echo, stream: StreamFunc = no_streams) -> None:
        self._unary = unary
        self._stream = stream

    async def unary(self, request: Message) -> Message:
        return await self._unary(request)

    async def stream(self, request: Message, stream: Stream) -> None:
        await self._stream(request, stream)


def error_of(message: Message) -> errors.MicroError:
    """The typed error a reply carries in ``Micro-Error`` (the test fails if there is none)."""
    assert message.header.get(headers.ERROR), f"expected an error reply, got {message!r}"
    return errors.parse(message.header[headers.ERROR])


def with_limit(transport: Transport, max_message_size: int) -> Transport:
    """The same transport with another size limit, to play a stricter peer."""
    strict = copy.copy(transport)
    strict.max_message_size = max_message_size
    return strict


Serve = Callable[..., Awaitable[Listener]]
Dial = Callable[..., Awaitable[Connection]]


class TransportConformance:
    """Subclass and override ``transport``; every test here must pass for every transport."""

    #: Seconds any single wait in these tests may take before the test fails.
    patience = 10.0

    @pytest.fixture
    def transport(self) -> Transport:
        raise NotImplementedError("override the transport fixture")

    @pytest.fixture
    def address(self) -> str:
        return "127.0.0.1:0"

    @pytest.fixture
    async def serve(self, transport: Transport, address: str) -> AsyncIterator[Serve]:
        """``await serve(handler, transport=...)`` listens on ``address``; closed after the test."""
        listeners: list[Listener] = []

        async def serve(handler: Handler, transport_: Transport = transport) -> Listener:
            listener = await transport_.listen(address, handler)
            listeners.append(listener)
            return listener

        yield serve
        for listener in listeners:
            await listener.close()

    @pytest.fixture
    async def dial(self, transport: Transport) -> AsyncIterator[Dial]:
        """``await dial(address, transport=...)`` connects; closed after the test."""
        connections: list[Connection] = []

        async def dial(address: str, transport_: Transport = transport) -> Connection:
            connection = await transport_.dial(address, timeout=self.patience)
            connections.append(connection)
            return connection

        yield dial
        for connection in connections:
            await connection.close()

    async def wait(self, awaitable: Awaitable[object]) -> object:
        return await asyncio.wait_for(awaitable, self.patience)

    # --- unary calls -----------------------------------------------------------------------

    async def test_unary_round_trip_carries_headers_and_body(self, serve: Serve, dial: Dial) -> None:
        seen: list[Message] = []

        async def greet(request: Message) -> Message:
            seen.append(request)
            return Message(
                {"X-Greeting": "hello", "X-Trace": request.header["X-Trace"]}, b"hi " + request.body
            )

        listener = await serve(Handler(unary=greet))
        connection = await dial(listener.address)
        reply = await connection.call(Message({"X-Trace": "abc-123", "X-Name": "Zoë"}, b"Ada"), timeout=5)

        assert reply.body == b"hi Ada"
        assert reply.header["X-Greeting"] == "hello"
        assert reply.header["X-Trace"] == "abc-123"
        assert headers.ERROR not in reply.header
        assert seen[0].body == b"Ada"
        assert seen[0].header["X-Name"] == "Zoë"

    async def test_empty_body_and_binary_body(self, serve: Serve, dial: Dial) -> None:
        listener = await serve(Handler())
        connection = await dial(listener.address)
        binary = bytes(range(256)) * 4

        assert (await connection.call(Message(), timeout=5)).body == b""
        assert (await connection.call(Message(body=binary), timeout=5)).body == binary

    async def test_200_concurrent_calls_on_one_connection_are_matched_out_of_order(
        self, serve: Serve, dial: Dial
    ) -> None:
        count = 200
        arrived = 0
        all_in = asyncio.Event()
        gates = [asyncio.Event() for _ in range(count)]

        async def held(request: Message) -> Message:
            nonlocal arrived
            number = int(request.body)
            arrived += 1
            if arrived == count:
                all_in.set()
            await gates[number].wait()
            return Message({"X-Number": str(number)}, b"reply %d" % number)

        listener = await serve(Handler(unary=held))
        connection = await dial(listener.address)
        calls = [
            asyncio.ensure_future(connection.call(Message(body=b"%d" % n), timeout=self.patience))
            for n in range(count)
        ]
        await self.wait(all_in.wait())
        for number in reversed(range(count)):  # answer the last request first
            gates[number].set()
            await self.wait(asyncio.shield(calls[number]))

        for number, call in enumerate(calls):
            assert call.result().body == b"reply %d" % number
            assert call.result().header["X-Number"] == str(number)

    async def test_handler_exception_is_a_500_and_the_server_keeps_serving(
        self, serve: Serve, dial: Dial
    ) -> None:
        async def fragile(request: Message) -> Message:
            if request.body == b"boom":
                raise RuntimeError("the handler broke")
            return Message(body=b"fine")

        listener = await serve(Handler(unary=fragile))
        connection = await dial(listener.address)

        failed = await connection.call(Message(body=b"boom"), timeout=5)
        error = error_of(failed)
        assert error.code == 500
        assert "the handler broke" in error.detail
        assert failed.body == b""
        assert (await connection.call(Message(body=b"again"), timeout=5)).body == b"fine"
        other = await dial(listener.address)
        assert (await other.call(Message(), timeout=5)).body == b"fine"

    async def test_timeout_raises_and_a_late_reply_is_dropped(self, serve: Serve, dial: Dial) -> None:
        release = asyncio.Event()
        answered = asyncio.Event()

        async def slow(request: Message) -> Message:
            if request.body == b"slow":
                await release.wait()
                answered.set()
            return Message(body=request.body)

        listener = await serve(Handler(unary=slow))
        connection = await dial(listener.address)
        loop = asyncio.get_running_loop()
        started = loop.time()

        with pytest.raises(TimeoutError):
            await connection.call(Message(body=b"slow"), timeout=0.2)
        assert 0.15 < loop.time() - started < 5

        release.set()
        await self.wait(answered.wait())
        assert (await connection.call(Message(body=b"next"), timeout=5)).body == b"next"
        assert not connection.closed

    # --- size limit ------------------------------------------------------------------------

    async def test_oversized_request_is_a_413_and_the_connection_keeps_working(
        self, transport: Transport, serve: Serve, dial: Dial
    ) -> None:
        handled: list[int] = []

        async def count(request: Message) -> Message:
            handled.append(len(request.body))
            return Message(body=b"ok")

        listener = await serve(Handler(unary=count), with_limit(transport, 1024))
        connection = await dial(listener.address)

        refused = await connection.call(Message(body=b"x" * 2048), timeout=5)
        error = error_of(refused)
        assert error.code == 413
        assert "2048" in error.detail and "1024" in error.detail
        assert (await connection.call(Message(body=b"x" * 1024), timeout=5)).body == b"ok"
        assert handled == [1024]

    async def test_client_refuses_to_send_an_oversized_request(
        self, transport: Transport, serve: Serve, dial: Dial
    ) -> None:
        listener = await serve(Handler())
        connection = await dial(listener.address, with_limit(transport, 100))

        with pytest.raises(errors.PayloadTooLarge, match="101"):
            await connection.call(Message(body=b"x" * 101), timeout=5)
        assert (await connection.call(Message(body=b"small"), timeout=5)).body == b"small"

    async def test_oversized_reply_is_payload_too_large_for_that_call_only(
        self, transport: Transport, serve: Serve, dial: Dial
    ) -> None:
        async def inflate(request: Message) -> Message:
            return Message(body=b"y" * int(request.body))

        listener = await serve(Handler(unary=inflate))
        connection = await dial(listener.address, with_limit(transport, 1000))

        with pytest.raises(errors.PayloadTooLarge, match="5000"):
            await connection.call(Message(body=b"5000"), timeout=5)
        assert (await connection.call(Message(body=b"10"), timeout=5)).body == b"y" * 10

    # --- streams ---------------------------------------------------------------------------

    async def test_bidirectional_stream_ends_with_eos_both_ways(self, serve: Serve, dial: Dial) -> None:
        openings: list[Message] = []

        async def shout(first: Message, stream: Stream) -> None:
            openings.append(first)
            received = 0
            while True:
                try:
                    message = await stream.recv()
                except EndOfStream:
                    break
                received += 1
                await stream.send(Message({"X-Seq": str(received)}, message.body.upper()))
            await stream.send(Message(body=b"received %d" % received))
            # Returning ends the server's side with EOS.

        listener = await serve(Handler(stream=shout))
        connection = await dial(listener.address)
        stream = await connection.stream(Message({"X-Open": "chat"}, b"hello"))

        for word in (b"one", b"two", b"three"):
            await stream.send(Message(body=word))
            reply = await self.wait(stream.recv())
            assert isinstance(reply, Message)
            assert reply.body == word.upper()
        await stream.close_send()
        summary = await self.wait(stream.recv())
        assert isinstance(summary, Message) and summary.body == b"received 3"
        with pytest.raises(EndOfStream):
            await self.wait(stream.recv())
        with pytest.raises(EndOfStream):  # and it stays ended
            await stream.recv()
        await stream.close()

        assert openings[0].body == b"hello"
        assert openings[0].header["X-Open"] == "chat"
        # The connection still serves calls and further streams.
        assert (await connection.call(Message(body=b"after"), timeout=5)).body == b"after"

    async def test_concurrent_streams_on_one_connection_stay_apart(self, serve: Serve, dial: Dial) -> None:
        async def repeat(first: Message, stream: Stream) -> None:
            for _ in range(3):
                await stream.send(Message(body=first.body))
                await asyncio.sleep(0)

        listener = await serve(Handler(stream=repeat))
        connection = await dial(listener.address)

        async def collect(name: bytes) -> list[bytes]:
            stream = await connection.stream(Message(body=name))
            bodies = []
            while True:
                try:
                    bodies.append((await stream.recv()).body)
                except EndOfStream:
                    await stream.close()
                    return bodies

        results = await self.wait(asyncio.gather(*(collect(b"s%d" % n) for n in range(20))))
        assert results == [[b"s%d" % n] * 3 for n in range(20)]

    async def test_stream_closed_with_an_error_delivers_it_then_ends(self, serve: Serve, dial: Dial) -> None:
        async def refuse(first: Message, stream: Stream) -> None:
            await stream.recv()
            await stream.close(Message({headers.ERROR: errors.NotFound("no such room").to_json().decode()}))

        listener = await serve(Handler(stream=refuse))
        connection = await dial(listener.address)
        stream = await connection.stream(Message(body=b"join"))
        await stream.send(Message(body=b"room 9"))

        failed = await self.wait(stream.recv())
        assert isinstance(failed, Message)
        error = error_of(failed)
        assert error.code == 404 and error.detail == "no such room"
        with pytest.raises(EndOfStream):
            await self.wait(stream.recv())
        await stream.close()
        assert (await connection.call(Message(body=b"still here"), timeout=5)).body == b"still here"

    async def test_stream_handler_exception_is_a_500_error_close(self, serve: Serve, dial: Dial) -> None:
        async def broken(first: Message, stream: Stream) -> None:
            raise RuntimeError("stream handler broke")

        listener = await serve(Handler(stream=broken))
        connection = await dial(listener.address)
        stream = await connection.stream(Message(body=b"go"))

        failed = await self.wait(stream.recv())
        assert isinstance(failed, Message)
        assert error_of(failed).code == 500
        assert "stream handler broke" in error_of(failed).detail
        with pytest.raises(EndOfStream):
            await self.wait(stream.recv())
        await stream.close()

    async def test_client_close_ends_the_servers_stream(self, serve: Serve, dial: Dial) -> None:
        ended = asyncio.Event()

        async def listen_forever(first: Message, stream: Stream) -> None:
            with pytest.raises(EndOfStream):
                while True:
                    await stream.recv()
            ended.set()

        listener = await serve(Handler(stream=listen_forever))
        connection = await dial(listener.address)
        stream = await connection.stream(Message(body=b"open"))
        await stream.send(Message(body=b"one"))
        await stream.close()

        await self.wait(ended.wait())
        with pytest.raises(RuntimeError, match="closed"):
            await stream.send(Message(body=b"too late"))

    # --- failures --------------------------------------------------------------------------

    async def test_server_gone_fails_pending_calls_and_streams_with_connection_error(
        self, serve: Serve, dial: Dial
    ) -> None:
        arrived = asyncio.Event()
        never = asyncio.Event()

        async def hang(request: Message) -> Message:
            arrived.set()
            await never.wait()
            return Message()

        async def hang_stream(first: Message, stream: Stream) -> None:
            await never.wait()

        listener = await serve(Handler(unary=hang, stream=hang_stream))
        address = listener.address
        connection = await dial(address)
        stream = await connection.stream(Message(body=b"open"))
        pending = asyncio.ensure_future(connection.call(Message(), timeout=self.patience))
        await self.wait(arrived.wait())

        await listener.close()

        with pytest.raises(ConnectionError, match=address.replace("[", r"\[")):
            await self.wait(pending)
        with pytest.raises(ConnectionError):
            await self.wait(stream.recv())
        assert connection.closed
        with pytest.raises(ConnectionError, match=address.replace("[", r"\[")):
            await connection.call(Message(), timeout=5)
        never.set()

    async def test_dial_to_a_closed_address_names_it(self, transport: Transport, serve: Serve) -> None:
        listener = await serve(Handler())
        address = listener.address
        await listener.close()

        with pytest.raises(ConnectionError, match=address.replace("[", r"\[")):
            await transport.dial(address, timeout=5)

    async def test_closed_connection_refuses_new_calls(self, serve: Serve, dial: Dial) -> None:
        listener = await serve(Handler())
        connection = await dial(listener.address)
        assert not connection.closed
        await connection.close()

        assert connection.closed
        with pytest.raises(ConnectionError):
            await connection.call(Message(), timeout=5)
        with pytest.raises(ConnectionError):
            await connection.stream(Message())


SecureTransport = Callable[[TLSConfig | None], Transport]


class TLSConformance:
    """What every transport's TLS guarantees; subclass and override ``secure_transport``, a
    factory of the transport with a :class:`~micro_core.tls.TLSConfig` (None: plaintext).

    Certificates come from the ``tls_ca`` and ``tls_client`` fixtures (``trustme``).
    """

    patience = 10.0

    @pytest.fixture
    def secure_transport(self) -> SecureTransport:
        raise NotImplementedError("override the secure_transport fixture")

    @pytest.fixture(scope="class")
    @classmethod
    def tls_server(cls, tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
        """The server's certificate, for the loopback address it listens on."""
        return TLSFiles.issue(tls_ca, tmp_path_factory.mktemp("tls-server"), "127.0.0.1")

    @pytest.fixture(scope="class")
    @classmethod
    def stranger(cls, tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
        """An identity signed by another CA, which the server's does not trust."""
        import trustme

        return TLSFiles.issue(trustme.CA(), tmp_path_factory.mktemp("tls-stranger"), "127.0.0.1")

    @pytest.fixture
    async def mutual_tls(
        self, secure_transport: SecureTransport, tls_server: TLSFiles
    ) -> AsyncIterator[Listener]:
        """A server that requires client certificates signed by ``tls_ca``."""
        config = TLSConfig(ca=tls_server.ca, cert=tls_server.cert, key=tls_server.key)
        listener = await secure_transport(config).listen("127.0.0.1:0", Handler())
        yield listener
        await listener.close()

    async def call(self, transport: Transport, address: str) -> Message:
        connection = await transport.dial(address, timeout=self.patience)
        try:
            return await connection.call(Message(body=b"over tls"), timeout=self.patience)
        finally:
            await connection.close()

    async def test_a_client_certified_by_the_ca_is_served(
        self, secure_transport: SecureTransport, mutual_tls: Listener, tls_client: TLSFiles
    ) -> None:
        config = TLSConfig(ca=tls_client.ca, client_cert=tls_client.cert, client_key=tls_client.key)
        assert (await self.call(secure_transport(config), mutual_tls.address)).body == b"over tls"

    @pytest.mark.parametrize("who", ["plaintext", "no certificate", "untrusted certificate"])
    async def test_a_client_the_server_cannot_trust_is_refused(
        self,
        secure_transport: SecureTransport,
        mutual_tls: Listener,
        tls_client: TLSFiles,
        stranger: TLSFiles,
        who: str,
    ) -> None:
        config = {
            "plaintext": None,
            "no certificate": TLSConfig(ca=tls_client.ca),
            "untrusted certificate": TLSConfig(
                ca=tls_client.ca, client_cert=stranger.cert, client_key=stranger.key
            ),
        }[who]
        with pytest.raises(ConnectionError):
            await self.call(secure_transport(config), mutual_tls.address)

    async def test_a_client_refuses_a_server_its_ca_did_not_sign(
        self, secure_transport: SecureTransport, tls_client: TLSFiles, stranger: TLSFiles
    ) -> None:
        server = secure_transport(TLSConfig(cert=stranger.cert, key=stranger.key))
        listener = await server.listen("127.0.0.1:0", Handler())
        try:
            with pytest.raises(ConnectionError):
                await self.call(secure_transport(TLSConfig(ca=tls_client.ca)), listener.address)
        finally:
            await listener.close()
