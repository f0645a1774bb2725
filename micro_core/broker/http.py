"""``http``: the default broker — subscribers are HTTP endpoints that publishers find in the registry.

Nothing to install and no server to run, as in Go Micro: a broker with subscriptions
listens on ``broker_address`` and registers each subscription as a node of service
``micro.http.broker`` (version = queue name, or ``ff.http.broadcast``), node id
``<topic>-<uuid>``, metadata ``{"broker": "http", "topic": …}``. ``publish`` sends the
message straight to one node of each queue group and to every broadcast node, over
the kernel's transport, and waits for the answer: an empty reply means acked, a
``Micro-Error`` reply means not. Unlike Go Micro's broker a failure is not ignored:
the message goes to another member of the group (or, after a short backoff, the same
one) up to ``max_redeliveries`` times, then to ``<topic>.dlq``, and ``publish``
raises :class:`~micro_core.broker.base.BrokerError`.

Publishers read the node list from a cache that a registry watch keeps fresh, so
publishing costs no registry round trip; a delivery that fails looks again.

Go Micro's http broker subscribes and publishes the same way, but delivers each message
as ``POST /?id=<subscriber node id>`` with the JSON envelope ``{"Header": {...}, "Body":
"<base64>"}`` and ignores the answer. micro's subscriptions register ``server: micro``
(see :mod:`micro_core.transport.gomicro`); a subscriber without it is Go Micro's and is
sent the envelope, over a pool of one-request connections. An envelope that arrives
from a Go Micro publisher is delivered to the subscription its ``id`` names. Go Micro
acts on neither side's answer, so between the two a message is delivered at most once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import parse_qs, urlencode, urlsplit

from micro_core import errors, headers
from micro_core.broker.base import (
    DEFAULT_MAX_REDELIVERIES,
    Broker,
    BrokerError,
    Event,
    EventHandler,
    Rejected,
    Subscription,
    attempt,
    check_message,
    dead_letter,
)
from micro_core.options import Options
from micro_core.registry.base import DEFAULT_TTL, Registry, ServiceNotFound
from micro_core.registry.model import Node, Service
from micro_core.transport.base import Connection, Listener, Message, Stream, Transport
from micro_core.transport.gomicro import MICRO_SERVER, NodePool, is_go_micro
from micro_core.transport.http import HTTPTransport, dial_in_order

log = logging.getLogger(__name__)

#: The registry service every subscription is a node of.
BROKER_SERVICE = "micro.http.broker"
#: The version under which subscriptions without a queue register.
BROADCAST = "ff.http.broadcast"
#: Request header naming the subscription (node id) a delivery is for.
SUBSCRIBER = "Micro-Subscriber"
DEFAULT_ADDRESS = "127.0.0.1:0"
#: Seconds a publisher waits for a subscriber's handler before trying again.
DEFAULT_DELIVERY_TIMEOUT = 30.0

#: Headers the transport frames with; a message's own values travel under other names.
_CARRIED = {headers.ID: "Micro-Broker-Id", headers.STREAM: "Micro-Broker-Stream"}
_UNCARRIED = {carried: own for own, carried in _CARRIED.items()}
#: Seconds the node list is trusted without a watch event: a backstop for a missed event.
_CACHE_TTL = 10.0
_DIAL_TIMEOUT = 5.0
_FIRST_BACKOFF = 0.05
_LAST_BACKOFF = 1.0
_WATCH_RETRY = 1.0
#: Seconds a subscriber that could not be reached is passed over while its group has others.
_COOLDOWN = 5.0


def _error(error: errors.MicroError) -> Message:
    return Message({headers.ERROR: error.to_json().decode()})


def _to_envelope(request: Message) -> Message:
    """A delivery as Go Micro's http broker posts it: the message's own headers, body in base64."""
    header = {_UNCARRIED.get(name, name): value for name, value in request.header.items()}
    envelope = {"Header": header, "Body": base64.b64encode(request.body).decode()}
    return Message({headers.CONTENT_TYPE: "application/json"}, json.dumps(envelope).encode())


def _from_envelope(request: Message) -> tuple[str, Message]:
    """The subscriber id and the message of a Go Micro http broker delivery; ``ValueError`` if it is none."""
    ids = parse_qs(urlsplit(request.header.get(headers.PATH, "")).query).get("id")
    if not ids:
        raise ValueError("the request names no subscriber (neither Micro-Subscriber nor ?id=)")
    try:
        envelope = json.loads(request.body)
        header = {str(name): str(value) for name, value in (envelope.get("Header") or {}).items()}
        body = base64.b64decode(envelope.get("Body") or "", validate=True)
    except (ValueError, AttributeError, binascii.Error) as exc:
        raise ValueError(f"not a Go Micro broker envelope: {exc}") from None
    return ids[0], Message(header, body)


class _Event(Event):
    async def _settle(self, ok: bool) -> None:
        """Nothing to tell yet: the reply to the publisher carries the outcome."""


class HTTPSubscription(Subscription):
    """One subscription: a node in the registry and a handler behind this broker's listener."""

    def __init__(
        self, broker: HTTPBroker, entry: Service, handler: EventHandler, queue: str | None, auto_ack: bool
    ) -> None:
        super().__init__(entry.nodes[0].metadata["topic"], queue)
        self.id = entry.nodes[0].id
        self.entry = entry
        self.handler = handler
        self.auto_ack = auto_ack
        self._broker = broker

    async def unsubscribe(self) -> None:
        await self._broker.drop(self)


class _Receiver:
    """The subscriber side: takes a delivery off the transport and answers ack or not."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, HTTPSubscription] = {}

    async def unary(self, request: Message) -> Message:
        header = request.header
        sub_id = header.pop(SUBSCRIBER, None)
        if sub_id is None:
            try:
                sub_id, request = _from_envelope(request)
            except ValueError as exc:
                return _error(errors.BadRequest(str(exc), id="micro.broker"))
            header = request.header
        else:
            header.pop(headers.ID, None)
            for own, carried in _CARRIED.items():
                if carried in header:
                    header[own] = header.pop(carried)
        sub = self.subscriptions.get(sub_id)
        if sub is None:
            return _error(errors.NotFound(f"no subscriber {sub_id!r} here", id="micro.broker"))
        if header.get(headers.TOPIC) != sub.topic:
            why = f"subscriber {sub_id} takes topic {sub.topic}, not {header.get(headers.TOPIC)!r}"
            return _error(errors.BadRequest(why, id="micro.broker"))
        reason = await attempt(_Event(sub.topic, Message(header, request.body)), sub.handler, sub.auto_ack)
        if reason is None:
            return Message()
        if isinstance(reason, Rejected):
            why = f"subscriber {sub_id} rejected the message: {reason}"
            return _error(errors.BadRequest(why, id="micro.broker"))
        return _error(errors.InternalServerError(f"subscriber {sub_id}: {reason}", id="micro.broker"))

    async def stream(self, request: Message, stream: Stream) -> None:
        await stream.close(
            _error(errors.BadRequest("the broker takes single messages, not streams", id="micro.broker"))
        )


@dataclass
class _Directory:
    """The ``micro.http.broker`` entries as last read, with each topic's groups worked out once."""

    services: list[Service]
    fetched: float
    by_topic: dict[str, dict[str, list[Node]]] = field(default_factory=dict)

    def groups(self, topic: str) -> dict[str, list[Node]]:
        """Queue name (or :data:`BROADCAST`) → the nodes subscribed to ``topic`` in it."""
        found = self.by_topic.get(topic)
        if found is None:
            found = self.by_topic[topic] = {}
            for service in self.services:
                nodes = [
                    n
                    for n in service.nodes
                    if n.metadata.get("broker") == "http" and n.metadata.get("topic") == topic
                ]
                if nodes:
                    found.setdefault(service.version, []).extend(nodes)
        return found


class HTTPBroker(Broker):
    """``http``: peer-to-peer delivery over the transport, subscribers found through the registry."""

    name = "http"

    def __init__(
        self,
        registry: Registry,
        address: str = DEFAULT_ADDRESS,
        *,
        transport: Transport | None = None,
        max_redeliveries: int = DEFAULT_MAX_REDELIVERIES,
        register_ttl: float = DEFAULT_TTL,
        delivery_timeout: float = DEFAULT_DELIVERY_TIMEOUT,
    ) -> None:
        super().__init__(address or DEFAULT_ADDRESS)
        if max_redeliveries < 0:
            raise ValueError(f"max_redeliveries must be 0 or more, not {max_redeliveries}")
        if register_ttl <= 0 or delivery_timeout <= 0:
            raise ValueError("register_ttl and delivery_timeout must be positive")
        self.registry = registry
        self.transport = transport or HTTPTransport()
        self.max_redeliveries = max_redeliveries
        self.register_ttl = register_ttl
        self.delivery_timeout = delivery_timeout
        self._receiver = _Receiver()
        self._listener: Listener | None = None
        self._listening = asyncio.Lock()
        self._connections: dict[str, Connection] = {}
        self._go_pools: dict[tuple[str, str], NodePool] = {}
        self._dialing: dict[str, asyncio.Lock] = {}
        self._unreachable: dict[str, float] = {}
        self._directory: _Directory | None = None
        self._looking = asyncio.Lock()
        self._renewal: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    def from_options(cls, registry: Registry, options: Options) -> Broker:
        return cls(
            registry,
            options["broker_address"],
            transport=HTTPTransport.from_options(options),
            register_ttl=options["register_ttl"],
            max_redeliveries=options["broker_max_redeliveries"],
        )

    # --- subscribing -------------------------------------------------------------------

    async def subscribe(
        self, topic: str, handler: EventHandler, *, queue: str | None = None, auto_ack: bool = True
    ) -> Subscription:
        check_message(topic, Message())
        if queue is not None and (not queue.strip() or queue == BROADCAST):
            raise ValueError(f"queue must be a non-empty name other than {BROADCAST!r}, not {queue!r}")
        if self._closed:
            raise BrokerError(f"cannot subscribe to {topic}: the http broker is closed")
        listener = await self._listen()
        node = Node(
            id=f"{topic}-{uuid.uuid4()}",
            address=listener.address,
            metadata={
                "broker": "http",
                "topic": topic,
                "secure": str(self._secure).lower(),
                "server": MICRO_SERVER,
            },
        )
        entry = Service(name=BROKER_SERVICE, version=queue or BROADCAST, nodes=[node])
        sub = HTTPSubscription(self, entry, handler, queue, auto_ack)
        self._receiver.subscriptions[sub.id] = sub
        try:
            await self.registry.register(entry, self.register_ttl)
        except Exception as exc:
            del self._receiver.subscriptions[sub.id]
            raise BrokerError(
                f"cannot subscribe to {topic}: registering with {self._registry_name} failed: {exc}"
            ) from exc
        self._directory = None
        if self._renewal is None:
            self._renewal = asyncio.get_running_loop().create_task(self._renew(), name="broker renewal")
        return sub

    async def drop(self, sub: HTTPSubscription) -> None:
        """Deregister, then stop handling: a publisher that still sends here gets NotFound and looks again."""
        if sub.id not in self._receiver.subscriptions:
            return
        try:
            await self.registry.deregister(sub.entry)
        except Exception:
            log.warning(
                "unsubscribe %s: deregistration failed; the entry expires with its TTL", sub.id, exc_info=True
            )
        self._receiver.subscriptions.pop(sub.id, None)
        self._directory = None

    async def _listen(self) -> Listener:
        async with self._listening:
            if self._listener is None:
                try:
                    self._listener = await self.transport.listen(self.address, self._receiver)
                except OSError as exc:
                    raise BrokerError(f"http broker cannot listen on {self.address}: {exc}") from exc
            return self._listener

    async def _renew(self) -> None:
        """Re-register every subscription each ``register_ttl / 3``, so a crashed process's expire."""
        while True:
            await asyncio.sleep(self.register_ttl / 3)
            for sub in list(self._receiver.subscriptions.values()):
                try:
                    await self.registry.register(sub.entry, self.register_ttl)
                except Exception:
                    log.warning("renewing subscription %s failed; retrying", sub.id, exc_info=True)

    @property
    def _secure(self) -> bool:
        """Whether deliveries travel over TLS (the transport's ``tls_*`` settings)."""
        return isinstance(self.transport, HTTPTransport) and self.transport.tls is not None

    @property
    def _registry_name(self) -> str:
        return f"the {self.registry.name} registry at {self.registry.address or '(default)'}"

    # --- publishing --------------------------------------------------------------------

    async def publish(self, topic: str, message: Message) -> None:
        """Deliver ``message`` to one member of each queue group and every broadcast subscriber.

        Returns once each of them acked. With no subscribers it returns at once: nobody
        wants the message. When a delivery still fails after ``max_redeliveries``, the
        message goes to ``<topic>.dlq`` and :class:`BrokerError` names who failed.
        """
        check_message(topic, message)
        if self._closed:
            raise BrokerError(f"cannot publish to {topic}: the http broker is closed")
        limit = self.transport.max_message_size
        if len(message.body) > limit:
            raise errors.PayloadTooLarge(
                f"message of {len(message.body)} bytes to {topic} exceeds {limit} bytes", id="micro.broker"
            )
        failures = await self._publish(topic, message)
        if not failures:
            return
        tries = 1 + self.max_redeliveries
        reason = "; ".join(f"{node}: {why}" for node, why in failures)
        rejected = all(isinstance(why, Rejected) for _, why in failures)
        if not rejected:
            reason = f"not delivered to {topic} in {tries} tries: {reason}"
        parked = dead_letter(topic, message, reason)
        if parked is not None and await self._publish(*parked):
            log.error("dead-letter topic %s: its subscribers failed too; the message is lost", parked[0])
        where = f"; it went to {parked[0]}" if parked else ""
        if rejected:  # the message is at fault, not the network: say so
            raise errors.BadRequest(f"publish to {topic} rejected: {reason}{where}", id="micro.broker")
        raise BrokerError(f"publish to {topic} failed: {reason}{where}")

    async def _publish(self, topic: str, message: Message) -> list[tuple[str, str]]:
        """Deliver to every group concurrently; the (node id, reason) of each last failure."""
        groups = (await self._lookup()).groups(topic)
        if not groups:
            return []
        header = {_CARRIED.get(name, name): value for name, value in message.header.items()}
        request = Message({**header, headers.TOPIC: topic}, message.body)
        targets: list[tuple[str, str | None]] = []
        for group, nodes in groups.items():
            if group == BROADCAST:
                targets.extend((group, node.id) for node in nodes)
            else:
                targets.append((group, None))
        if len(targets) == 1:
            results = [await self._deliver(topic, request, *targets[0])]
        else:
            results = await asyncio.gather(*(self._deliver(topic, request, *t) for t in targets))
        return [failure for failure in results if failure is not None]

    async def _deliver(
        self, topic: str, request: Message, group: str, node_id: str | None
    ) -> tuple[str, str] | None:
        """Deliver to one member of ``group`` (or to node ``node_id``), trying again on failure."""
        directory = await self._lookup()
        tried: set[str] = set()
        failure: tuple[str, str] | None = None
        for delivery in range(1 + self.max_redeliveries):
            members = [n for n in directory.groups(topic).get(group, ()) if node_id in (None, n.id)]
            if not members:
                return None  # unsubscribed meanwhile: nobody left who wants it
            untried = [n for n in members if n.id not in tried]
            if not untried:
                await asyncio.sleep(min(_LAST_BACKOFF, _FIRST_BACKOFF * 2**delivery))
                untried = members
            now = time.monotonic()
            reachable = [n for n in untried if self._unreachable.get(n.address, 0.0) <= now]
            node = random.choice(reachable or untried)
            failed_at = time.monotonic()
            reason = await self._send(node, request)
            if reason is None:
                return None
            if isinstance(reason, Rejected):
                return node.id, reason  # no redelivery can help
            tried.add(node.id)
            failure = (node.id, reason)
            log.info("topic %s: delivery to %s failed (%s); trying again", topic, node.id, reason)
            directory = await self._lookup(newer_than=failed_at)
        return failure

    async def _send(self, node: Node, request: Message) -> str | None:
        """One delivery; None when acked, else why not."""
        try:
            if is_go_micro(node.metadata):
                reply = await self._go_pool(node).call(_to_envelope(request), self.delivery_timeout)
            else:
                connection = await self._connection(node.address)
                reply = await connection.call(
                    Message({**request.header, SUBSCRIBER: node.id}, request.body), self.delivery_timeout
                )
        except OSError as exc:  # ConnectionError included: the process is gone or going
            self._unreachable[node.address] = time.monotonic() + _COOLDOWN
            return f"{type(exc).__name__}: {exc}"
        except (TimeoutError, errors.MicroError) as exc:
            return f"{type(exc).__name__}: {exc}"
        error = reply.header.get(headers.ERROR)
        if error is None:
            return None
        failure = errors.parse(error)
        return Rejected(failure.detail) if failure.code == 400 else failure.detail

    async def _connection(self, address: str) -> Connection:
        connection = self._connections.get(address)
        if connection is not None and not connection.closed:
            return connection
        async with self._dialing.setdefault(address, asyncio.Lock()):
            connection = self._connections.get(address)
            if connection is None or connection.closed:
                connection = self._connections[address] = await self.transport.dial(address, _DIAL_TIMEOUT)
            return connection

    def _go_pool(self, node: Node) -> NodePool:
        """The connections to a Go Micro subscriber, posting to ``/?id=<its node id>``."""
        pool = self._go_pools.get((node.address, node.id))
        if pool is None or pool.closed:
            target = "/?" + urlencode({"id": node.id})
            dial = partial(
                dial_in_order, node.address, max_size=self.transport.max_message_size, target=target
            )
            pool = self._go_pools[node.address, node.id] = NodePool(node.address, dial)
        return pool

    async def _lookup(self, newer_than: float = float("-inf")) -> _Directory:
        """The subscriber list: cached, unless older than ``newer_than`` or expired; one lookup at a time."""
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch(), name="broker watch")
        async with self._looking:
            directory = self._directory
            now = time.monotonic()
            if directory is not None and directory.fetched > max(newer_than, now - _CACHE_TTL):
                return directory
            try:
                services = await self.registry.get_service(BROKER_SERVICE)
            except ServiceNotFound:
                services = []
            except Exception as exc:
                raise BrokerError(f"cannot find subscribers in {self._registry_name}: {exc}") from exc
            self._directory = directory = _Directory(services, time.monotonic())
            return directory

    async def _watch(self) -> None:
        """Drop the cached subscriber list whenever the registry reports a change to it."""
        while True:
            watcher = self.registry.watch(BROKER_SERVICE)
            try:
                async for _ in watcher:
                    self._directory = None
            except Exception:
                log.warning("watching %s failed; retrying", self._registry_name, exc_info=True)
            finally:
                await watcher.close()
            self._directory = None
            await asyncio.sleep(_WATCH_RETRY)

    # --- closing -----------------------------------------------------------------------

    async def close(self) -> None:
        """Unsubscribe everything, stop listening, close connections."""
        self._closed = True
        for sub in list(self._receiver.subscriptions.values()):
            await self.drop(sub)
        tasks = [task for task in (self._renewal, self._watcher) if task is not None]
        self._renewal = self._watcher = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        connections: list[Connection] = [*self._connections.values(), *self._go_pools.values()]
        self._connections, self._go_pools = {}, {}
        for connection in connections:
            await connection.close()
        if self._listener is not None:
            listener, self._listener = self._listener, None
            with contextlib.suppress(OSError):
                await listener.close()
