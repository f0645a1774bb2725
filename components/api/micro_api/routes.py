"""The route table: which service, endpoint and handler an HTTP request goes to.

Built from the registry's entries (never per request): endpoint-metadata routes
first, in Go Micro's metadata keys (``handler``, ``path``, ``method``, ``host``; paths
with ``{param}`` parts, several separated by commas), most literal path first; then
the path resolver of :mod:`micro_http.resolve`. A request that resolves to nothing is
a 404 that lists every service and endpoint that was tried and why each failed.

Handlers: ``rpc`` (request value → call → JSON), ``api`` (the whole request as
:class:`~micro_api.types.Request`), ``http`` (reverse proxy to an HTTP service), and
``event`` (publish). A service whose nodes say ``protocol: http`` in their metadata
is an HTTP app and gets ``http`` unless its endpoints say otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from micro_api.types import HANDLERS
from micro_core import errors
from micro_core.registry import Endpoint
from micro_core.registry import Service as Entry
from micro_http import candidates
from micro_http.resolve import title

#: Endpoints every micro service has; callable, but not listed in the routes or the document.
_HIDDEN_PREFIX = "Debug."
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: Resolutions a table remembers; past it (a scan of random paths) it resolves each afresh.
_MAX_REMEMBERED = 10_000


@dataclass(frozen=True, slots=True)
class Route:
    """Where one request goes."""

    service: str
    endpoint: str  # "" for the http and event handlers of a service without endpoint routes
    handler: str
    stream: bool = False
    params: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class MetadataRoute:
    """An endpoint's own route, from its metadata."""

    template: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    hosts: frozenset[str]
    service: str
    endpoint: str
    handler: str
    stream: bool
    timeout: float | None

    def match(self, method: str, host: str, path: str) -> dict[str, str] | None:
        if self.methods and method not in self.methods:
            return None
        if self.hosts and host.split(":", 1)[0] not in self.hosts:
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None

    def rank(self) -> tuple[int, int]:
        """Sort key: most literal characters first, then fewest parameters."""
        literal = len(_PARAM.sub("", self.template))
        return (-literal, len(_PARAM.findall(self.template)))


@dataclass(frozen=True)
class Known:
    """What the table knows of one service: its handler and endpoints (all versions merged)."""

    name: str
    handler: str
    endpoints: Mapping[str, Endpoint]

    @property
    def listed(self) -> list[Endpoint]:
        return [e for name, e in sorted(self.endpoints.items()) if not name.startswith(_HIDDEN_PREFIX)]


def compile_path(template: str) -> re.Pattern[str]:
    """``/items/{id}`` → a pattern with named groups; a template starting with ``^`` is a regex."""
    if template.startswith("^"):
        return re.compile(template)
    parts = _PARAM.split(template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(regex)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _timeout(metadata: Mapping[str, str], where: str) -> float | None:
    text = metadata.get("timeout")
    if not text:
        return None
    try:
        return float(text.removesuffix("s"))
    except ValueError:
        raise ValueError(f"{where}: timeout {text!r} is not seconds") from None


def _is_stream(endpoint: Endpoint) -> bool:
    return endpoint.metadata.get("stream") == "true"


class Table:
    """An immutable snapshot of the routes; the registry watch builds a new one on change."""

    def __init__(self, entries: Iterable[Entry], *, handler: str = "rpc", namespace: str = "") -> None:
        self.handler = handler
        self.namespace = namespace
        self.services: dict[str, Known] = {}
        self.problems: list[str] = []
        routes: list[MetadataRoute] = []
        merged: dict[str, list[Entry]] = {}
        for entry in entries:
            merged.setdefault(entry.name, []).append(entry)
        for name, versions in sorted(merged.items()):
            endpoints = {e.name: e for entry in versions for e in entry.endpoints}
            http = any(n.metadata.get("protocol") == "http" for entry in versions for n in entry.nodes)
            known = Known(name, "http" if http else handler, endpoints)
            self.services[name] = known
            for endpoint in endpoints.values():
                try:
                    routes.extend(self._metadata_routes(known, endpoint))
                except ValueError as exc:
                    self.problems.append(str(exc))  # a service's bad metadata must not stop the gateway
        self._resolved: dict[tuple[str, str, str], Route | str] = {}
        self.routes: list[MetadataRoute] = []
        owners: dict[tuple[str, frozenset[str], frozenset[str]], MetadataRoute] = {}
        for route in sorted(routes, key=MetadataRoute.rank):
            first = owners.setdefault((route.template, route.methods, route.hosts), route)
            if first is route:
                self.routes.append(route)
            else:
                self.problems.append(
                    f"{route.service} {route.endpoint}: {route.template} is already served by "
                    f"{first.service} {first.endpoint}"
                )
        self._by_host = any(route.hosts for route in self.routes)

    def _metadata_routes(self, known: Known, endpoint: Endpoint) -> list[MetadataRoute]:
        meta = endpoint.metadata
        paths = _split(meta.get("path", ""))
        where = f"{known.name} {endpoint.name}"
        handler = meta.get("handler") or ("" if not paths else known.handler)
        if handler and handler not in HANDLERS:
            raise ValueError(f"{where}: unknown handler {handler!r} (one of {', '.join(HANDLERS)})")
        methods = frozenset(m.upper() for m in _split(meta.get("method", "")))
        hosts = frozenset(_split(meta.get("host", "")))
        timeout = _timeout(meta, where)
        compiled = []
        for path in paths:
            try:
                pattern = compile_path(path)
            except re.error as exc:
                raise ValueError(f"{where}: path {path!r} is not a valid pattern ({exc})") from None
            compiled.append(
                MetadataRoute(
                    path,
                    pattern,
                    methods,
                    hosts,
                    known.name,
                    endpoint.name,
                    handler or known.handler,
                    _is_stream(endpoint),
                    timeout,
                )
            )
        return compiled

    # --- resolving -----------------------------------------------------------------------

    def resolve(self, method: str, host: str, path: str) -> Route:
        """The route for a request; :class:`~micro_core.errors.NotFound` saying what was tried.

        Answers are remembered (bounded) for the life of this table: the same paths come
        again and again, and a table is replaced, not changed, when the registry changes.
        """
        key = (method, host if self._by_host else "", path)
        known = self._resolved.get(key)
        if known is None:
            try:
                known = self._resolve(method, host, path)
            except errors.NotFound as exc:
                known = exc.detail
            if len(self._resolved) < _MAX_REMEMBERED:
                self._resolved[key] = known
        if isinstance(known, str):
            raise errors.NotFound(known, id="micro.api")
        return known

    def _resolve(self, method: str, host: str, path: str) -> Route:
        for route in self.routes:
            params = route.match(method, host, path)
            if params is not None:
                return Route(
                    route.service, route.endpoint, route.handler, route.stream, params, route.timeout
                )
        first = path.lstrip("/").split("/", 1)[0]
        whole = self.services.get(f"{self.namespace}.{first}" if self.namespace else first)
        if whole is not None and whole.handler in ("http", "event"):
            return Route(whole.name, "", whole.handler)  # the service takes every path under its name
        tried: list[str] = []
        for candidate in candidates(path, self.namespace):
            known = self.services.get(candidate.service)
            if known is None:
                tried.append(f"{candidate}: service not registered")
                continue
            endpoint = known.endpoints.get(candidate.endpoint)
            if endpoint is None:
                tried.append(f"{candidate}: no such endpoint")
                continue
            if endpoint.metadata.get("path"):
                # Its own routes may limit methods and hosts: the resolver must not go round them.
                tried.append(f"{candidate}: served only at {endpoint.metadata['path']}")
                continue
            handler = endpoint.metadata.get("handler") or known.handler
            if handler not in HANDLERS:
                handler = known.handler
            return Route(
                known.name, endpoint.name, handler, _is_stream(endpoint), {}, _timeout_or_none(endpoint)
            )
        raise errors.NotFound(self._no_route(method, path, tried), id="micro.api")

    def _no_route(self, method: str, path: str, tried: list[str]) -> str:
        # Services with nothing to route to (a broker's subscriptions) would only be noise here.
        routable = [
            name for name, known in self.services.items() if known.endpoints or known.handler == "http"
        ]
        registered = ", ".join(routable) or "none"
        what = "; ".join(tried) if tried else "the path names no service"
        return f"no route for {method} {path}: tried {what} (registered: {registered})"

    # --- describing ----------------------------------------------------------------------

    def path_of(self, known: Known, endpoint: Endpoint) -> str | None:
        """The resolver path that reaches ``endpoint`` (checked by resolving it), or None."""
        kind, _, method = endpoint.name.partition(".")
        segment = _snake(method)
        service = known.name.removeprefix(f"{self.namespace}.") if self.namespace else known.name
        if "/" in service:
            return None
        base = service.rsplit(".", 1)[-1]
        path = f"/{service}/{segment}" if kind == title(base) else f"/{service}/{_snake(kind)}/{segment}"
        try:
            route = self.resolve("POST", "", path)
        except errors.NotFound:
            return None
        return path if (route.service, route.endpoint) == (known.name, endpoint.name) else None

    def listing(self) -> list[dict[str, object]]:
        """Every route that answers, as ``/routes`` serves it and the gateway prints it."""
        rows: list[dict[str, object]] = [
            {
                "path": route.template,
                "methods": sorted(route.methods) or ["*"],
                "hosts": sorted(route.hosts),
                "service": route.service,
                "endpoint": route.endpoint,
                "handler": route.handler,
                "stream": route.stream,
            }
            for route in self.routes
        ]
        for known in self.services.values():
            if known.handler in ("http", "event"):
                rows.append(
                    {
                        "path": f"/{known.name}/...",
                        "methods": ["*"],
                        "hosts": [],
                        "service": known.name,
                        "endpoint": "",
                        "handler": known.handler,
                        "stream": False,
                    }
                )
                continue
            for endpoint in known.listed:
                path = self.path_of(known, endpoint)
                if path is not None:
                    handler = endpoint.metadata.get("handler") or known.handler
                    rows.append(
                        {
                            "path": path,
                            "methods": ["GET", "POST"],
                            "hosts": [],
                            "service": known.name,
                            "endpoint": endpoint.name,
                            "handler": handler,
                            "stream": _is_stream(endpoint),
                        }
                    )
        return rows


def _timeout_or_none(endpoint: Endpoint) -> float | None:
    try:
        return _timeout(endpoint.metadata, endpoint.name)
    except ValueError:
        return None


def _snake(name: str) -> str:
    """``SayHello`` → ``say_hello`` when the resolver turns it back into the same name, else as is."""
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return snake if title(snake) == name else name


__all__ = ["Known", "MetadataRoute", "Route", "Table", "compile_path"]
