"""The plugin manager of one application instance, and the loading of named drivers.

Each :class:`Plugins` owns its own pluggy manager (no module-global state), registers
the kernel's built-in plugin exactly as it would a third-party one, autoloads the
``micro.plugins`` entry points, and finds named drivers (``micro.registry``,
``micro.broker``…) through stevedore only when one is selected, so start-up imports
nothing that is not used.

Operators control loading with the environment:

- ``MICRO_DISABLE_PLUGIN_AUTOLOAD=1`` loads no ``micro.plugins`` entry point;
- ``MICRO_BLOCK_PLUGINS=name,other`` skips those plugins and drivers (a driver is named
  ``KIND-NAME``, e.g. ``registry-consul``).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy
import stevedore

from micro_core import hookspecs

if TYPE_CHECKING:
    from micro_core.broker import Broker, EventHandler
    from micro_core.codec import Codec
    from micro_core.health import CheckFunc
    from micro_core.hookspecs import CallFunc, HandlerFunc, PublishFunc
    from micro_core.options import Options
    from micro_core.registry import Registry
    from micro_core.selector import Selector
    from micro_core.service import Service
    from micro_core.transport import Transport

log = logging.getLogger("micro.plugins")

#: Entry-point group of plugins loaded at start (middleware, options, lifecycle hooks).
PLUGINS_GROUP = "micro.plugins"
#: Entry-point group of each kind of named driver.
DRIVER_GROUPS = {
    "registry": "micro.registry",
    "selector": "micro.selector",
    "transport": "micro.transport",
    "codec": "micro.codec",
    "broker": "micro.broker",
}
#: Spellings of content types remembered by :meth:`Plugins.codec` (normal forms are always kept).
_MAX_CODEC_KEYS = 64
#: Entry-point group of the components the ``micro`` command runs as subcommands.
COMPONENTS_GROUP = "micro.components"

T = TypeVar("T")


#: Structured-syntax suffixes whose codec distribution has a longer name.
_FORMATS = {"proto": "protobuf"}


def _distribution_of(kind: str, name: str) -> str:
    """The distribution that would provide a driver: ``micro-registry-etcd``; a codec is named
    for its format, not its content type (``application/x-protobuf`` and
    ``application/grpc+proto``: ``micro-codec-protobuf``)."""
    if kind == "codec":
        subtype = name.partition(";")[0].rpartition("/")[2].strip().lower()
        subtype = subtype.rpartition("+")[2].removeprefix("x-").removeprefix("vnd.")
        name = _FORMATS.get(subtype, subtype)
    return f"micro-{kind}-{name.replace('/', '-').replace('+', '-')}"


class DriverNotFound(LookupError):
    """A selected driver is not installed (the message gives the ``pip install`` line) or is blocked."""

    def __init__(self, kind: str, name: str, reason: str = "") -> None:
        self.kind = kind
        self.name = name
        hint = f"pip install {_distribution_of(kind, name)}"
        super().__init__(reason or f"{kind} {name!r} is not installed: {hint}")


class DriverLoadError(ImportError):
    """A driver is installed but its module failed to import."""


@dataclass(frozen=True)
class PluginInfo:
    """One installed plugin or driver, as ``micro plugins`` lists it."""

    group: str
    name: str
    distribution: str
    version: str
    error: str = ""


def _env_flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


async def await_me_maybe(value: Any) -> Any:
    """Await ``value`` if it is awaitable, call it first if it is a callable returning one."""
    if callable(value) and not inspect.isawaitable(value):
        value = value()
    if inspect.isawaitable(value):
        value = await value
    return value


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each exported name from its home module on first use.

    A plugin's ``micro.plugins`` module is imported at every start-up to collect its
    options, and importing it imports its package first; with this, the package can
    still offer ``from micro_registry_etcd import EtcdRegistry`` without importing the
    backend library until the driver is actually used::

        __getattr__ = lazy_exports(__name__, {"EtcdRegistry": ".registry"})
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(home, package), name)

    return __getattr__


class Plugins:
    """A typed facade over pluggy: one method per hook, plus driver look-up by name."""

    def __init__(
        self,
        *,
        autoload: bool | None = None,
        blocked: Iterable[str] | None = None,
        environ: Mapping[str, str] | None = None,
        extra_hookspecs: Iterable[ModuleType | type] = (),
    ) -> None:
        """``extra_hookspecs``: modules of further hook specifications (a library's own hooks),
        added before any plugin is loaded, so that plugins implementing them pass the check."""
        environ = os.environ if environ is None else environ
        if autoload is None:
            autoload = not _env_flag(environ, "MICRO_DISABLE_PLUGIN_AUTOLOAD")
        if blocked is None:
            blocked = [n.strip() for n in environ.get("MICRO_BLOCK_PLUGINS", "").split(",") if n.strip()]
        self.blocked = frozenset(blocked)
        #: Plugins that failed to load: entry-point name -> error text.
        self.failures: dict[str, str] = {}
        self._drivers: dict[tuple[str, str], Any] = {}
        self._codecs: dict[str, Codec] = {}
        #: Content types no codec answers for -> why, so a peer repeating one costs a dict look-up.
        self._no_codec: dict[str, str] = {}
        self._pm = pluggy.PluginManager("micro")
        for specs in (hookspecs, *extra_hookspecs):
            self._pm.add_hookspecs(specs)
        for name in self.blocked:
            self._pm.set_blocked(name)
        from micro_core import defaults

        self._pm.register(defaults, name="micro-defaults")
        self._pm.register(_DriverFallback(self), name="micro-drivers")
        if autoload:
            self._autoload()
        self._check()

    # --- registration ---------------------------------------------------------------

    def register(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object (module, class or instance with ``micro_*`` hookimpls).

        A hook implementation that matches no hook (a misspelt name) raises
        ``pluggy.PluginValidationError`` and the plugin is not registered.
        """
        self._pm.register(plugin, name=name)
        try:
            self._check()
        except pluggy.PluginValidationError:
            self._pm.unregister(plugin)
            raise
        self._codecs.clear()  # the new plugin may answer for content types looked up before
        self._no_codec.clear()

    def unregister(self, plugin: object) -> None:
        self._pm.unregister(plugin)

    def is_registered(self, plugin: object) -> bool:
        return self._pm.is_registered(plugin)

    @property
    def manager(self) -> pluggy.PluginManager:
        """The underlying pluggy manager, for tools that inspect hooks."""
        return self._pm

    def _autoload(self) -> None:
        manager = stevedore.ExtensionManager(
            PLUGINS_GROUP,
            invoke_on_load=False,
            on_load_failure_callback=self._record_failure,
        )
        for extension in manager:
            if extension.name in self.blocked:
                continue
            self._pm.register(extension.plugin, name=extension.name)

    def _check(self) -> None:
        """pluggy's ``check_pending()``, naming the hook the author probably meant."""
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            names = [name for name in dir(self._pm.hook) if not name.startswith("_")]
            hooks = [name for name in names if getattr(self._pm.hook, name).has_spec()]
            hints = [
                f"{name} (did you mean {close[0]}?)" if close else name
                for name in names
                if name not in hooks
                for close in [difflib.get_close_matches(name, hooks, n=1)]
            ]
            raise pluggy.PluginValidationError(
                exc.plugin, f"plugin {exc.plugin!r} implements hooks micro does not have: {', '.join(hints)}"
            ) from exc

    def _record_failure(self, _manager: Any, entry_point: Any, error: BaseException) -> None:
        self.failures[entry_point.name] = f"{type(error).__name__}: {error}"
        log.warning("plugin %s failed to load and is skipped: %s", entry_point.name, error)

    # --- drivers -------------------------------------------------------------------------

    def load_driver(self, kind: str, name: str) -> Any:
        """The class registered as driver ``name`` of ``kind`` (entry point ``micro.KIND``)."""
        key = (kind, name)
        if key in self._drivers:
            return self._drivers[key]
        if f"{kind}-{name}" in self.blocked:
            raise DriverNotFound(kind, name, f"{kind} {name!r} is blocked by MICRO_BLOCK_PLUGINS")
        try:
            manager: stevedore.DriverManager[Any] = stevedore.DriverManager(
                DRIVER_GROUPS[kind], name, invoke_on_load=False
            )
        except stevedore.exception.NoMatches:
            raise DriverNotFound(kind, name) from None
        except stevedore.exception.MultipleMatches as exc:
            raise DriverNotFound(kind, name, f"{kind} {name!r} is provided twice: {exc}") from None
        except ImportError as exc:
            raise DriverLoadError(f"{kind} {name!r} is installed but failed to import: {exc}") from exc
        self._drivers[key] = manager.driver
        return manager.driver

    def _driver(self, kind: str, name: str, answer: T | None) -> T:
        if answer is None:
            raise DriverNotFound(kind, name)
        return answer

    def registry(self, name: str, options: Options) -> Registry:
        answer: Registry | None = self._pm.hook.micro_registry(name=name, options=options)
        return self._driver("registry", name, answer)

    def selector(self, name: str, registry: Registry, options: Options) -> Selector:
        answer: Selector | None = self._pm.hook.micro_selector(name=name, registry=registry, options=options)
        return self._driver("selector", name, answer)

    def transport(self, name: str, options: Options) -> Transport:
        answer: Transport | None = self._pm.hook.micro_transport(name=name, options=options)
        return self._driver("transport", name, answer)

    def codec(self, content_type: str, options: Options) -> Codec:
        """The codec for ``content_type``; built once and reused for every message.

        Looked up by the header exactly as it arrives first (one dict look-up per
        message), then by its normalised form (``; charset`` dropped, lower case).
        """
        codec = self._codecs.get(content_type)
        if codec is None:
            normal = content_type.split(";", 1)[0].strip().lower()
            codec = self._codecs.get(normal)
            if codec is None:
                codec = self._codecs[normal] = self._new_codec(normal, options)
            if len(self._codecs) < _MAX_CODEC_KEYS:  # headers come from peers: keep the table bounded
                self._codecs[content_type] = codec
        return codec

    def _new_codec(self, content_type: str, options: Options) -> Codec:
        """Ask the plugins once per content type; a failure is remembered (bounded) and raised again."""
        reason = self._no_codec.get(content_type)
        if reason is None:
            try:
                answer: Codec | None = self._pm.hook.micro_codec(content_type=content_type, options=options)
                return self._driver("codec", content_type, answer)
            except DriverNotFound as exc:
                reason = str(exc)
                if len(self._no_codec) < _MAX_CODEC_KEYS:
                    self._no_codec[content_type] = reason
        raise DriverNotFound("codec", content_type, reason)

    def broker(self, name: str, registry: Registry, options: Options) -> Broker:
        answer: Broker | None = self._pm.hook.micro_broker(name=name, registry=registry, options=options)
        return self._driver("broker", name, answer)

    # --- options, middleware, lifecycle ----------------------------------------------------

    def add_options(self, options: Options) -> None:
        self._pm.hook.micro_add_options.call_historic(kwargs={"options": options})

    def wrap_call(self, call: CallFunc, options: Options) -> CallFunc:
        wrapped: CallFunc = self._wrap("micro_wrap_call", "call", call, options=options)
        return wrapped

    def wrap_handler(
        self, service: str, endpoint: str, handler: HandlerFunc, options: Options
    ) -> HandlerFunc:
        wrapped: HandlerFunc = self._wrap(
            "micro_wrap_handler", "handler", handler, service=service, endpoint=endpoint, options=options
        )
        return wrapped

    def wrap_publish(self, publish: PublishFunc, options: Options) -> PublishFunc:
        wrapped: PublishFunc = self._wrap("micro_wrap_publish", "publish", publish, options=options)
        return wrapped

    def wrap_subscriber(self, topic: str, handler: EventHandler, options: Options) -> EventHandler:
        wrapped: EventHandler = self._wrap(
            "micro_wrap_subscriber", "handler", handler, topic=topic, options=options
        )
        return wrapped

    def _wrap(self, hook: str, inner_name: str, inner: Any, **kwargs: Any) -> Any:
        """Compose every implementation of a ``micro_wrap_*`` hook around ``inner``.

        The hooks are first-result, so pluggy alone would let the first plain (non-wrapper)
        implementation win silently. Plain implementations are applied here instead, each
        around the previous one in pluggy's call order (the first called is outermost);
        then pluggy runs the ``wrapper=True`` implementations around the result. Each plain
        one gets only the arguments it names, as pluggy would pass them.
        """
        impls = getattr(self._pm.hook, hook).get_hookimpls()
        plain = [impl for impl in impls if not (impl.wrapper or impl.hookwrapper)]
        for impl in plain:  # pluggy calls from the end of the list: the start is innermost
            arguments = {**kwargs, inner_name: inner}
            inner = impl.function(*(arguments[name] for name in impl.argnames))
        wrappers = self._pm.subset_hook_caller(hook, remove_plugins=[impl.plugin for impl in plain])
        composed = inner
        return wrappers.call_extra([lambda: composed], {**kwargs, inner_name: composed})

    def health_checks(self, service: Service) -> dict[str, CheckFunc]:
        """Every plugin's checks for ``service``; a name given twice is an error, not a silent winner."""
        checks: dict[str, CheckFunc] = {}
        for answer in self._pm.hook.micro_health_checks(service=service):
            for name, check in (answer or {}).items():
                if name in checks:
                    raise ValueError(f"two plugins register the health check {name!r}")
                checks[name] = check
        return checks

    async def before_start(self, service: Service) -> None:
        for result in self._pm.hook.micro_before_start(service=service):
            await await_me_maybe(result)

    async def after_start(self, service: Service) -> None:
        for result in self._pm.hook.micro_after_start(service=service):
            await await_me_maybe(result)

    async def before_stop(self, service: Service) -> None:
        for result in self._pm.hook.micro_before_stop(service=service):
            await await_me_maybe(result)

    async def after_stop(self, service: Service) -> None:
        """Every implementation runs even if another fails: the stop must complete.

        In the same order as the other lifecycle hooks, each through the hook's
        wrappers; a failure is logged and the next implementation runs.
        """
        plain = [
            impl
            for impl in self._pm.hook.micro_after_stop.get_hookimpls()
            if not (impl.wrapper or impl.hookwrapper)
        ]
        for impl in reversed(plain):
            others = [other.plugin for other in plain if other is not impl]
            try:
                for result in self._pm.subset_hook_caller("micro_after_stop", others)(service=service):
                    await await_me_maybe(result)
            except Exception:
                log.exception("micro_after_stop of %s failed", impl.plugin_name)

    # --- inventory ---------------------------------------------------------------------------

    def inventory(self) -> list[PluginInfo]:
        """Every installed plugin, driver and component, each imported to prove it loads;
        a broken one is listed with its error instead of raising."""
        rows: list[PluginInfo] = []
        known = (PLUGINS_GROUP, *DRIVER_GROUPS.values(), COMPONENTS_GROUP)
        # Other micro.* groups belong to distributions that extend a component (micro.bot.inputs):
        # a broken entry point there must show here too.
        others = sorted(g for g in entry_points().groups if g.startswith("micro.") and g not in known)
        for group in (*known, *others):
            for entry_point in entry_points(group=group):
                try:
                    entry_point.load()
                    error = ""
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                dist = entry_point.dist
                rows.append(
                    PluginInfo(
                        group=group,
                        name=entry_point.name,
                        distribution=dist.name if dist else "",
                        version=dist.version if dist else "",
                        error=error,
                    )
                )
        return rows


class _DriverFallback:
    """Answers the driver hooks last, from the installed entry points."""

    def __init__(self, plugins: Plugins) -> None:
        self._plugins = plugins

    @hookspecs.hookimpl(trylast=True)
    def micro_registry(self, name: str, options: Options) -> Registry:
        driver: type[Registry] = self._plugins.load_driver("registry", name)
        return driver.from_options(options)

    @hookspecs.hookimpl(trylast=True)
    def micro_selector(self, name: str, registry: Registry, options: Options) -> Selector:
        driver: type[Selector] = self._plugins.load_driver("selector", name)
        return driver.from_options(registry, options)

    @hookspecs.hookimpl(trylast=True)
    def micro_transport(self, name: str, options: Options) -> Transport:
        driver: type[Transport] = self._plugins.load_driver("transport", name)
        return driver.from_options(options)

    @hookspecs.hookimpl(trylast=True)
    def micro_codec(self, content_type: str, options: Options) -> Codec:
        driver: type[Codec] = self._plugins.load_driver("codec", content_type)
        return driver.from_options(options)

    @hookspecs.hookimpl(trylast=True)
    def micro_broker(self, name: str, registry: Registry, options: Options) -> Broker:
        driver: type[Broker] = self._plugins.load_driver("broker", name)
        return driver.from_options(registry, options)
