"""The backends of one ``micro`` invocation, built from the global flags only when a command needs them.

``micro services`` builds a registry and nothing else; ``micro call`` adds a
selector and a transport; ``micro publish`` a broker. Nothing here is imported
before a command runs, so ``micro --help`` never loads a driver.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from micro_cli.failures import BAD_INPUT, INTERRUPTED, Failure, translate

if TYPE_CHECKING:
    from micro_core import Broker, Client, Options, Plugins, Registry

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

    def describe_registry(self) -> str:
        """ "local registry at /tmp/x", for messages that must say what was tried."""
        address = self.options["registry_address"]
        return f"{self.options['registry']} registry" + (f" at {address}" if address else "")

    async def registry(self) -> Registry:
        if self._registry is None:
            registry = self.plugins.registry(self.options["registry"], self.options)
            await registry.connect()
            self._opened.append(registry)
            self._registry = registry
        return self._registry

    async def broker(self) -> Broker:
        if self._broker is None:
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
            registry = await self.registry() if discovery else self.plugins.registry(opts["registry"], opts)
            selector = self.plugins.selector(opts["selector"], registry, opts)
            transport = self.plugins.transport(opts["transport"], opts)
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
