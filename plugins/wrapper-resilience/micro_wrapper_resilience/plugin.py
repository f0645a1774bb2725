"""The hook implementations and their settings; each wrapper is left out when its setting is off.

Settings are read from the options the wrap hooks are given, when a wrapper is composed:
the client's when it is built, a server's at its start. Every setting defaults to off,
so installing the plugin changes nothing until an operator turns a wrapper on: the
breaker picks nodes itself (at random), which a service tuned for round-robin may not
want.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from micro_core import errors
from micro_core.hookspecs import hookimpl
from micro_wrapper_resilience.breaker import Attempts, Breakers
from micro_wrapper_resilience.limits import Bulkhead, RateLimit

if TYPE_CHECKING:
    from micro_core import Call, Message
    from micro_core.hookspecs import CallFunc, HandlerFunc
    from micro_core.options import Options


@hookimpl
def micro_add_options(options: Options) -> None:
    options.add(
        "breaker_failures", 0, "failed calls in a row that open a node's circuit for an endpoint; 0: off", int
    )
    options.add("breaker_reset", 5.0, "seconds an open circuit waits before one probe call", float)
    options.add(
        "client_rate_limit", 0.0, "calls per second to each service; beyond: 429 at once; 0: off", float
    )
    options.add("client_rate_burst", 0, "calls allowed in a burst over the rate (0: one second's worth)", int)
    options.add(
        "server_max_concurrent", 0, "calls of one endpoint handled at once; beyond: 503 at once; 0: off", int
    )


@hookimpl(wrapper=True)
def micro_wrap_call(options: Options) -> Generator[None, CallFunc, CallFunc]:
    inner = yield
    rate: float = options["client_rate_limit"]
    limit = RateLimit(rate, options["client_rate_burst"] or max(1, round(rate))) if rate > 0 else None
    failures: int = options["breaker_failures"]
    breakers = Breakers(failures, options["breaker_reset"]) if failures > 0 else None
    if limit is None and breakers is None:
        return inner

    async def resilient_call(request: Call) -> Message:
        if limit is not None:
            limit.take(request.service)
        if breakers is None or request.address:
            return await inner(request)
        attempts = Attempts(breakers, request.service, request.endpoint)
        request.filters = (*request.filters, attempts)
        try:
            reply = await inner(request)
        except errors.ServiceUnavailable as exc:
            attempts.settle(exc)
            if attempts.refused and not attempts.picked:
                raise errors.ServiceUnavailable(
                    f"{request.service} {request.endpoint}: the circuit of every node is open",
                    id="micro.breaker",
                ) from exc
            raise
        except BaseException as exc:
            attempts.settle(exc)
            raise
        attempts.settle(None)
        return reply

    return resilient_call


@hookimpl(wrapper=True)
def micro_wrap_handler(
    service: str, endpoint: str, options: Options
) -> Generator[None, HandlerFunc, HandlerFunc]:
    inner = yield
    limit: int = options["server_max_concurrent"]
    if limit <= 0:
        return inner
    bulkhead = Bulkhead(endpoint, limit)

    async def bulkheaded(request: Message) -> Message:
        bulkhead.enter(service)
        try:
            return await inner(request)
        finally:
            bulkhead.leave()

    return bulkheaded
