"""The backends of one ``micro`` invocation, built from the global flags only when a command needs them.

``micro services`` builds a registry and nothing else; ``micro call`` adds a
selector and a transport; ``micro publish`` a broker. Nothing here is imported
before a command runs, so ``micro --help`` never loads a driver. With ``--proxy URL``
the registry, transport and broker are those of :mod:`micro_cli.proxy`, which reach
everything through a sidecar.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from micro_cli.failures import BAD_INPUT, INTERRUPTED, Failure, translate

if TYPE_CHECKING:
    from micro_cli.proxy import Sidecar
    from micro_core import Broker, Client, Options, Plugins, Registry, Transport

T = TypeVar("T")


class Session:
    """Options and drivers for one command; ``close()`` releases whatever was opened."""

    def __init__(self, flags: Mapping[str, str], *, debug: bool = False) -> None:
        #: Global flags given on the command line, by option name, as text.
        self.flags = dict(flags)
        self.debug = debug
        self._opened: list[Any] = []
        self._registry: Registry | None = None
        self._client: Client | None = None
        self._broker: Broker | None = None

    @cached_property
    def plugins(self) -> Plugins:
        from micro_core import Plugins

        return Plugins()

    @cached_property
    def options(self) -> Options:
        """flag > ``MICRO_*`` > default, each flag parsed by its option's own parser."""
        from micro_core import Options

        options = Options()
        self.plugins.add_options(options)
        declared = {option.name: option for option in options}
        for name, text in self.flags.items():
            option = declared.get(name)
            if option is None:
                continue  # declared by a plugin that is gone since the flags were cached
            try:
                options.flags[name] = option.parse(text)
            except ValueError as exc:
                raise Failure(f"{option.flag} {text!r}: {exc}", BAD_INPUT) from None
        return options

    @cached_property
    def proxy(self) -> Sidecar | None:
        """The sidecar named by ``--proxy``, through which everything goes; None: none given."""
        url = self.options.get("proxy")
        if not url:
            return None
        from micro_cli.proxy import Sidecar

        return Sidecar(url, self.options.get("proxy_token") or "")

    def describe_registry(self) -> str:
        """ "local registry at /tmp/x", for messages that must say what was tried."""
        if self.proxy is not None:
            return f"registry through the sidecar at {self.proxy.url}"
        address = self.options["registry_address"]
        return f"{self.options['registry']} registry" + (f" at {address}" if address else "")

    def _new_registry(self) -> Registry:
        if self.proxy is not None:
            from micro_cli.proxy import ProxyRegistry

            return ProxyRegistry(self.proxy)
        return self.plugins.registry(self.options["registry"], self.options)

    def _new_transport(self) -> Transport:
        if self.proxy is not None:
            from micro_cli.proxy import ProxyTransport

            return ProxyTransport(self.proxy)
        return self.plugins.transport(self.options["transport"], self.options)

    async def registry(self) -> Registry:
        if self._registry is None:
            registry = self._new_registry()
            await registry.connect()
            self._opened.append(registry)
            self._registry = registry
        return self._registry

    async def broker(self) -> Broker:
        if self._broker is None:
            if self.proxy is not None:
                from micro_cli.proxy import ProxyBroker

                broker: Broker = ProxyBroker(self.proxy)
            else:
                broker = self.plugins.broker(self.options["broker"], await self.registry(), self.options)
            await broker.connect()
            self._opened.append(broker)
            self._broker = broker
        return self._broker

    async def client(self, *, discovery: bool = True, broker: bool = False) -> Client:
        """A client; ``discovery=False`` when every call names its address (no registry connection),
        ``broker=True`` to publish."""
        if self._client is None:
            from micro_core import Client

            opts = self.options
            registry = await self.registry() if discovery else self._new_registry()
            selector = self.plugins.selector(opts["selector"], registry, opts)
            transport = self._new_transport()
            self._opened.append(selector)
            self._client = Client(
                selector=selector,
                transport=transport,
                plugins=self.plugins,
                options=opts,
                broker=await self.broker() if broker else None,
            )
            self._opened.append(self._client)
        return self._client

    async def close(self) -> None:
        """Close in reverse order of opening: client, selector, broker, registry."""
        while self._opened:
            await self._opened.pop().close()

    def run(self, work: Callable[[Session], Awaitable[T]]) -> T:
        """Run ``work`` on the kernel's event loop, close what it opened, and turn what it
        raised into a one-line :class:`Failure` (a traceback with ``--debug``)."""
        from micro_core import run

        async def main() -> T:
            try:
                return await work(self)
            finally:
                await self.close()

        try:
            return run(main())  # type: ignore[no-any-return]
        except KeyboardInterrupt:
            raise Failure("interrupted", INTERRUPTED) from None
        except Exception as exc:
            if self.debug:
                raise
            try:
                registry = self.describe_registry()
            except Exception:
                registry = ""
            raise translate(exc, registry) from None
