"""Services as Python objects for ``micro shell``: endpoints as methods typed from the registry.

``Greeter.Hello`` of service ``greeter`` is ``greeter.hello``, its keyword arguments the
fields the service publishes for its request, so ``help(greeter.hello)`` and Tab
completion show what to send; a stream endpoint's method gives an async iterator.
"""

from __future__ import annotations

import inspect
import keyword
import re
import types
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from micro_cli.commands.registry import shape

if TYPE_CHECKING:
    from micro_core import Client, Registry
    from micro_core.registry import Endpoint, Service


#: Registry type names (Go Micro's, as micro_core publishes them) and the Python types they are.
_SIMPLE = {"string": str, "int64": int, "int32": int, "int": int, "float64": float, "float32": float}
_SIMPLE |= {"double": float, "bool": bool, "bytes": bytes, "any": Any}


def python_type(name: str) -> Any:
    """``[]string`` → ``list[str]``, ``map[string]int64`` → ``dict[str, int]``; a struct stays its name."""
    if name in _SIMPLE:
        return _SIMPLE[name]
    if name.startswith("[]"):
        return list[python_type(name[2:])]  # type: ignore[misc]
    found = re.fullmatch(r"map\[([^\]]+)\](.+)", name)
    if found:
        return dict[python_type(found[1]), python_type(found[2])]  # type: ignore[misc]
    return name


def method_name(endpoint: str) -> str:
    """``Greeter.SayHello`` → ``say_hello``: the Python name a handler method would have."""
    method = endpoint.rpartition(".")[2]
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", method).lower()


class RemoteEndpoint:
    """One endpoint as a method: ``await greeter.hello(name="Ada")``, or a whole request as
    one argument (``greeter.hello({"name": "Ada"})``). A stream endpoint's method gives
    an async iterator of the replies."""

    def __init__(self, client: Client, service: str, endpoint: Endpoint) -> None:
        self._client = client
        self._service = service
        self.endpoint = endpoint.name
        self.streams = endpoint.metadata.get("stream") == "true"
        self.__name__ = method_name(endpoint.name)
        self.__qualname__ = f"{service}.{self.__name__}"
        fields = endpoint.request.values if endpoint.request else []
        self.__signature__ = inspect.Signature(
            [
                inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=python_type(f.type))
                for f in fields
            ],
            return_annotation=python_type(endpoint.response.type) if endpoint.response else Any,
        )
        kind = "a stream: async for reply in ..." if self.streams else "await it"
        self.__doc__ = f"{endpoint.name}({shape(endpoint.request)}) -> {shape(endpoint.response)}; {kind}"

    def __call__(self, request: Any = None, /, **fields: Any) -> Any:
        if request is not None and fields:
            raise TypeError(f"{self.__qualname__}: give the request as one argument or as keywords, not both")
        body = fields if request is None else request
        if self.streams:
            return self._replies(body)
        return self._client.call(self._service, self.endpoint, body)

    async def _replies(self, opening: Any) -> AsyncIterator[Any]:
        async with self._client.stream(self._service, self.endpoint, opening) as replies:
            await replies.close_send()
            async for reply in replies:
                yield reply

    def __repr__(self) -> str:
        return f"<endpoint {self._service} {self.endpoint}{self.__signature__}>"


class RemoteService:
    """A registered service: ``greeter.hello`` for an endpoint whose method name is unique,
    ``greeter.Greeter.hello`` for any (``greeter.Debug.stats``)."""

    def __init__(self, client: Client, name: str, entries: Iterable[Service]) -> None:
        self._name = name
        endpoints = {e.name: e for entry in entries for e in entry.endpoints}
        by_handler: dict[str, dict[str, RemoteEndpoint]] = {}
        for endpoint in endpoints.values():
            method = RemoteEndpoint(client, name, endpoint)
            by_handler.setdefault(endpoint.name.partition(".")[0], {})[method.__name__] = method
        methods = [m for handler in by_handler.values() for m in handler.values()]
        taken = [m.__name__ for m in methods]
        self._members: dict[str, Any] = {m.__name__: m for m in methods if taken.count(m.__name__) == 1}
        self._members |= {h: types.SimpleNamespace(**ms) for h, ms in by_handler.items() if h.isidentifier()}

    def __getattr__(self, name: str) -> Any:
        try:
            return self._members[name]
        except KeyError:
            raise AttributeError(
                f"{self._name} has no endpoint {name!r}; it has: {', '.join(dir(self))}"
            ) from None

    def __dir__(self) -> list[str]:
        return sorted(self._members)

    def __repr__(self) -> str:
        methods = [m for m in self._members.values() if isinstance(m, RemoteEndpoint)]
        return f"<service {self._name}: {', '.join(f'{m.__name__}{m.__signature__}' for m in methods)}>"


def identifier(name: str) -> str | None:
    """The prompt's name for a service (``go.micro.srv.greeter`` → ``go_micro_srv_greeter``)."""
    text = re.sub(r"\W", "_", name)
    return text if text.isidentifier() and not keyword.iskeyword(text) else None


async def read_services(
    client: Client, registry: Registry, hidden: frozenset[str]
) -> dict[str, RemoteService]:
    """Every registered service but the ``hidden`` ones, by name."""
    names = sorted({e.name for e in await registry.list_services() if e.name not in hidden})
    found: dict[str, RemoteService] = {}
    for name in names:
        try:
            found[name] = RemoteService(client, name, await registry.get_service(name))
        except Exception:  # gone since it was listed
            continue
    return found
