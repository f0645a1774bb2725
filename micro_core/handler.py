"""Turn a plain class into endpoints: each public async method becomes ``Class.Method``.

The method's type hints give the request and response types (decoded and encoded by
the codec, and published in the registry as shapes). Three forms::

    async def hello(self, req: HelloRequest) -> HelloReply            # unary
    async def count(self, req: CountRequest) -> AsyncIterator[Tick]   # server stream
    async def chat(self, msgs: AsyncIterator[Line]) -> AsyncIterator[Line]  # bidirectional

Python's ``say_hello`` is published as ``SayHello``, the name a Go service would use.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Kind(enum.StrEnum):
    UNARY = "unary"
    SERVER_STREAM = "server_stream"
    BIDI_STREAM = "bidi_stream"

    @property
    def streams(self) -> bool:
        return self is not Kind.UNARY


@dataclass(frozen=True)
class Route:
    """One endpoint: its name, the bound method, and the types it takes and returns."""

    name: str
    func: Callable[..., Any]
    kind: Kind
    request_type: Any = None
    response_type: Any = None
    metadata: dict[str, str] = field(default_factory=dict)


def endpoint_name(method_name: str) -> str:
    """``say_hello`` -> ``SayHello``; a name already in CamelCase is kept."""
    return "".join(part[:1].upper() + part[1:] for part in method_name.split("_") if part)


def _iterated_type(hint: Any) -> Any | None:
    """``X`` for ``AsyncIterator[X]``/``AsyncIterable[X]``/``AsyncGenerator[X, …]``, else None."""
    origin = typing.get_origin(hint)
    if origin in (
        collections.abc.AsyncIterator,
        collections.abc.AsyncIterable,
        collections.abc.AsyncGenerator,
    ):
        args = typing.get_args(hint)
        return args[0] if args else Any
    return None


def routes_of(handler: object, name: str | None = None) -> list[Route]:
    """The endpoints of ``handler`` (an instance), named ``<name or class name>.<Method>``."""
    prefix = name or type(handler).__name__
    routes = []
    for attr, member in inspect.getmembers(type(handler)):
        if attr.startswith("_"):
            continue
        is_coroutine = inspect.iscoroutinefunction(member)
        is_generator = inspect.isasyncgenfunction(member)
        if not (is_coroutine or is_generator):
            continue
        routes.append(_route(f"{prefix}.{endpoint_name(attr)}", getattr(handler, attr), is_generator))
    return routes


def _route(name: str, func: Callable[..., Any], is_generator: bool) -> Route:
    hints = typing.get_type_hints(func)
    params = [
        p
        for p in inspect.signature(func).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(params) > 1:
        raise TypeError(f"{name}: an endpoint takes one request argument, not {len(params)}")
    request_hint = hints.get(params[0].name, Any) if params else None
    returned = hints.get("return", Any)
    streamed_in = _iterated_type(request_hint)
    streamed_out = _iterated_type(returned) if is_generator else None
    if streamed_in is not None:
        if not is_generator:
            raise TypeError(f"{name}: a method that takes a stream must yield its replies (async generator)")
        return Route(name, func, Kind.BIDI_STREAM, streamed_in, streamed_out or Any, {"stream": "true"})
    if is_generator:
        return Route(name, func, Kind.SERVER_STREAM, request_hint, streamed_out or Any, {"stream": "true"})
    return Route(name, func, Kind.UNARY, request_hint, None if returned is type(None) else returned)


__all__ = ["Kind", "Route", "endpoint_name", "routes_of"]
