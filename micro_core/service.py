"""A service: a named server with its handlers and subscribers, registered for discovery.

Ten lines make one::

    class Greeter:
        async def hello(self, req: HelloRequest) -> HelloReply:
            return HelloReply(message=f"Hello {req.name}")

    service = Service("greeter", handlers=[Greeter()])
    service.run()

Backends come from flags, ``MICRO_*`` variables or keyword arguments, in that order
(see :mod:`micro_core.options`); a keyword may also be a driver instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import signal
import typing
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from micro_core import context, headers, logs
from micro_core.broker import Broker, Event, EventHandler, Subscription
from micro_core.client import Client
from micro_core.debug import Debug
from micro_core.health import READY, Checks, summary
from micro_core.options import Options
from micro_core.plugins import Plugins
from micro_core.registry import Endpoint, Node, Registry
from micro_core.registry import Service as Entry
from micro_core.selector import Selector
from micro_core.server import Server
from micro_core.transport import Transport

log = logging.getLogger("micro.service")

D = TypeVar("D")
Handler = Callable[..., Awaitable[Any]]


@dataclass
class _Subscriber:
    topic: str
    handler: Handler
    queue: str | None
    auto_ack: bool


def _driver(value: Any, base: type, build: Callable[[str], D]) -> D:
    """A driver given as an instance is used as is; a name is built by the plugins."""
    if isinstance(value, base):
        return typing.cast(D, value)
    return build(str(value))


class Service:
    """A micro service: server, client, registry, selector, transport and broker, wired together."""

    def __init__(
        self,
        name: str,
        version: str = "latest",
        *,
        metadata: Mapping[str, str] | None = None,
        handlers: Iterable[object] = (),
        plugins: Plugins | None = None,
        flags: Mapping[str, Any] | None = None,
        options: Options | None = None,
        **settings: Any,
    ) -> None:
        self.name = name
        self.version = version
        self.metadata = dict(metadata or {})
        self.id = f"{name}-{uuid.uuid4()}"
        self.plugins = plugins or Plugins()
        self.options = options or Options(code=settings, flags=flags)
        self.plugins.add_options(self.options)
        opts = self.options
        self.registry: Registry = _driver(
            opts["registry"], Registry, lambda n: self.plugins.registry(n, opts)
        )
        self.selector: Selector = _driver(
            opts["selector"], Selector, lambda n: self.plugins.selector(n, self.registry, opts)
        )
        self.transport: Transport = _driver(
            opts["transport"], Transport, lambda n: self.plugins.transport(n, opts)
        )
        self.broker: Broker = _driver(
            opts["broker"], Broker, lambda n: self.plugins.broker(n, self.registry, opts)
        )
        self.client = Client(
            selector=self.selector,
            transport=self.transport,
            plugins=self.plugins,
            options=opts,
            broker=self.broker,
        )
        self.server = Server(name, self.transport, self.plugins, opts)
        #: The service's health checks: ``@service.health.check("database")``.
        self.health = Checks()
        self.server.handle(Debug(self.server, self.health))
        self._ready = True
        self._checker: asyncio.Task[None] | None = None
        self._plugin_checks_added = False
        for handler in handlers:
            self.handle(handler)
        self._subscribers: list[_Subscriber] = []
        self._subscriptions: list[Subscription] = []
        self._connected = False
        self._renewal: asyncio.Task[None] | None = None
        self.address = ""

    # --- building ---------------------------------------------------------------------

    def handle(self, handler: object, name: str | None = None) -> None:
        """Serve the public async methods of ``handler`` as ``<name or class>.<Method>``."""
        self.server.handle(handler, name)

    def subscribe(
        self, topic: str, handler: Handler, *, queue: str | None = None, auto_ack: bool = True
    ) -> None:
        """Deliver events on ``topic`` to ``handler`` once the service starts.

        ``handler`` takes the decoded message (typed by its hint), or the
        :class:`~micro_core.broker.Event` itself to ack explicitly (``auto_ack=False``).
        With ``queue`` the members of that group share the messages; without, each gets all.
        """
        self._subscribers.append(_Subscriber(topic, handler, queue, auto_ack))

    def subscriber(
        self, topic: str, *, queue: str | None = None, auto_ack: bool = True
    ) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`subscribe`."""

        def register(handler: Handler) -> Handler:
            self.subscribe(topic, handler, queue=queue, auto_ack=auto_ack)
            return handler

        return register

    # --- lifecycle ---------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect the registry and broker, enough to call and publish without serving.

        If either fails, both are closed again before the error propagates.
        """
        if not self._connected:
            self._connected = True  # set first, so that close() also undoes half a connect
            try:
                await self.registry.connect()
                await self.broker.connect()
            except BaseException:
                await self.close()
                raise

    async def start(self) -> None:
        """Listen, register, subscribe; returns once the service answers calls.

        A start that fails part-way undoes what it did (deregisters, stops listening,
        closes connections) before the error propagates, so nothing is left open or
        registered; like a stopped service, the service is then spent.
        """
        await self.plugins.before_start(self)
        try:
            await self.connect()
            bound = await self.server.start(self.options["server_address"])
            self.address = self.options["server_advertise"] or bound
            await self.registry.register(self.entry(), self.options["register_ttl"])
            self._renewal = asyncio.create_task(self._renew(), name=f"{self.name} registration")
            self._start_checker()
            for sub in self._subscribers:
                handler = self.plugins.wrap_subscriber(
                    sub.topic, self._event_handler(sub.handler), self.options
                )
                self._subscriptions.append(
                    await self.broker.subscribe(sub.topic, handler, queue=sub.queue, auto_ack=sub.auto_ack)
                )
        except BaseException:
            await self._release(grace=None)
            raise
        await self.plugins.after_start(self)
        log.info("%s %s serving on %s", self.name, self.version, self.address)

    async def stop(self) -> None:
        """Deregister first, then stop taking calls, drain in-flight ones, and close everything."""
        await self.plugins.before_stop(self)
        await self._release(grace=self.options["shutdown_grace"])
        await self.plugins.after_stop(self)

    async def _release(self, grace: float | None) -> None:
        """Deregister, unsubscribe, stop listening (after up to ``grace`` seconds for calls in
        flight; None: none can be), and close every connection."""
        if self._checker is not None:
            self._checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checker
            self._checker = None
        if self._renewal is not None:
            self._renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewal
            self._renewal = None
            try:
                await self.registry.deregister(self.entry())
            except Exception:
                log.warning(
                    "%s: deregistration failed; the entry expires with its TTL", self.name, exc_info=True
                )
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions.clear()
        if grace is not None:
            await self.server.drain(grace)
        await self.server.stop()
        await self.close()

    async def close(self) -> None:
        """Close the client's connections, the broker and the registry."""
        await self.client.close()
        await self.selector.close()
        if self._connected:
            await self.broker.close()
            await self.registry.close()
            self._connected = False

    async def __aenter__(self) -> Service:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def serve(self) -> None:
        """Start, run until SIGTERM or SIGINT, then stop gracefully."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        try:
            await self.start()  # a failed start has cleaned up after itself
            try:
                await stopping.wait()
            finally:
                await self.stop()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def run(self) -> None:
        """Blocking entry point for ``python my_service.py``: serve on the fastest event loop available.

        Logs to stderr at ``MICRO_LOG_LEVEL`` (default INFO) unless logging is already configured,
        as JSON lines with ``--log-format json`` (see :mod:`micro_core.logs`).
        """
        logs.configure(
            self.name, self.id, os.environ.get("MICRO_LOG_LEVEL", "INFO"), self.options["log_format"]
        )
        run(self.serve())

    # --- registration ----------------------------------------------------------------

    def entry(self) -> Entry:
        """This service as the registry sees it: one node (this process) and its endpoints."""
        codec = self.client.codec()
        endpoints = [
            Endpoint(
                name=route.name,
                request=codec.describe(route.request_type),
                response=codec.describe(route.response_type),
                metadata=dict(route.metadata),
            )
            for route in self.server.routes.values()
        ]
        node_metadata = {
            **self.metadata,
            "transport": self.transport.name,
            "broker": self.broker.name,
            "registry": self.registry.name,
            "server": "micro",
            "protocol": "mucp",
        }
        if self.health:
            node_metadata[READY] = "true" if self._ready else "false"
        node = Node(id=self.id, address=self.address, metadata=node_metadata)
        return Entry(
            name=self.name,
            version=self.version,
            metadata=dict(self.metadata),
            endpoints=endpoints,
            nodes=[node],
        )

    async def _renew(self) -> None:
        interval = self.options["register_interval"]
        ttl = self.options["register_ttl"]
        while True:
            await asyncio.sleep(interval)
            try:
                await self.registry.register(self.entry(), ttl)
            except Exception as exc:
                log.warning(
                    "%s: could not renew registration (%s); retrying in %.0fs", self.name, exc, interval
                )

    def _start_checker(self) -> None:
        """Run the health checks every ``health_interval`` seconds (only if there are any).

        The plugins' checks join the service's own at its first start; a restarted service
        has them already (adding them again would be a clash with themselves).
        """
        if not self._plugin_checks_added:
            for name, check in self.plugins.health_checks(self).items():
                self.health.add(name, check)
            self._plugin_checks_added = True
        if self.health:
            self._checker = asyncio.create_task(self._check(), name=f"{self.name} health checks")

    async def _check(self) -> None:
        """Re-register at once when readiness changes, so callers' selectors learn it from the
        registry's watch: a node that is not ready is passed over, not stopped."""
        interval = self.options["health_interval"]
        while True:
            _, ready, status = summary(await self.health.run())
            if ready != self._ready:
                self._ready = ready
                log.warning("%s: %s; registering as %s", self.name, status, "ready" if ready else "not ready")
                try:
                    await self.registry.register(self.entry(), self.options["register_ttl"])
                except Exception as exc:
                    log.warning("%s: could not register readiness (%s); the renewal retries", self.name, exc)
            await asyncio.sleep(interval)

    def _event_handler(self, handler: Handler) -> EventHandler:
        """Adapt a subscriber: pass the Event itself, or its body decoded to the hinted type."""
        params = list(inspect.signature(handler).parameters.values())
        hints = typing.get_type_hints(handler)
        wanted = hints.get(params[0].name, Any) if params else Any
        if wanted is Event or (isinstance(wanted, type) and issubclass(wanted, Event)):

            async def with_event(event: Event) -> None:
                context.enter(event.message.header, None)
                await handler(event)

            return with_event

        async def with_value(event: Event) -> None:
            header = event.message.header
            context.enter(header, None)
            codec = self.client.codec(header.get(headers.CONTENT_TYPE))
            await handler(codec.decode(event.message.body, wanted))

        return with_value


def run(main: Awaitable[Any]) -> Any:
    """Run ``main`` to completion on uvloop when installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)  # type: ignore[arg-type]


__all__ = ["Service", "run"]
