"""The hook implementations: count and time every call, handler, publish and delivery.

Wrappers are composed once per client, endpoint or subscription; a handler's and a
topic's numbers are found then, so a message costs a few integer additions and a
bisection into the latency buckets (see :mod:`micro_wrapper_prometheus.metrics`).
Without a ``/metrics`` endpoint (``--metrics-address`` / ``MICRO_METRICS_ADDRESS``) a
server's wrappers (built at its start) are left out, and a client's (built before)
pass calls straight through.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Generator
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING

from micro_core import headers
from micro_core.hookspecs import hookimpl
from micro_wrapper_prometheus.exposition import MetricsServer, switch

if TYPE_CHECKING:
    from micro_core import Call, Event, Message, Service
    from micro_core.broker import EventHandler
    from micro_core.hookspecs import CallFunc, HandlerFunc, PublishFunc
    from micro_core.options import Options
    from micro_wrapper_prometheus.metrics import Requests

#: Message ids remembered per topic to tell a redelivery from a first delivery.
_REMEMBERED = 10_000
_servers: dict[str, MetricsServer] = {}  # service id -> its endpoint


def _metrics() -> ModuleType:
    """The metrics, imported once counting starts (prometheus_client's import is slow)."""
    from micro_wrapper_prometheus import metrics

    return metrics


@hookimpl
def micro_add_options(options: Options) -> None:
    options.add(
        "metrics_address",
        "",
        "host:port of the Prometheus /metrics endpoint (port 0: any free one); empty: no metrics",
    )


@hookimpl(wrapper=True)
def micro_wrap_call(call: CallFunc) -> Generator[None, CallFunc, CallFunc]:
    inner = yield

    async def counted_call(request: Call) -> Message:
        if not switch.on:
            return await inner(request)
        requests: Requests = _metrics().stats.requests("client", request.service, request.endpoint)
        return await requests.timed(inner, request)

    return counted_call


@hookimpl(wrapper=True)
def micro_wrap_handler(
    service: str, endpoint: str, handler: HandlerFunc
) -> Generator[None, HandlerFunc, HandlerFunc]:
    inner = yield
    if not switch.on:  # built at start, after micro_before_start started the endpoint (or not)
        return inner
    requests = _metrics().stats.requests("server", service, endpoint)
    return partial(requests.timed, inner)  # no layer of its own: the endpoint's numbers are known


@hookimpl(wrapper=True)
def micro_wrap_publish(publish: PublishFunc) -> Generator[None, PublishFunc, PublishFunc]:
    inner = yield

    async def counted_publish(topic: str, message: Message) -> None:
        if not switch.on:
            return await inner(topic, message)
        counts = _metrics().stats.topic(topic)
        try:
            await inner(topic, message)
        except BaseException:
            counts.publish_errors += 1
            raise
        counts.published += 1

    return counted_publish


@hookimpl(wrapper=True)
def micro_wrap_subscriber(topic: str, options: Options) -> Generator[None, EventHandler, EventHandler]:
    """Deliveries, and what this process can see of redelivery: a message id it failed before
    is a redelivery, and a failure past the broker's redelivery limit is a dead letter. In a
    queue group a redelivery may go to another member, which then counts it as a first try."""
    inner = yield
    if not switch.on:
        return inner
    counts = _metrics().stats.topic(topic)
    max_redeliveries: int = options["broker_max_redeliveries"]  # what the service's broker was given
    failures: OrderedDict[str, int] = OrderedDict()

    async def counted_delivery(event: Event) -> None:
        message_id = event.message.header.get(headers.ID, "")
        if message_id in failures:
            counts.redelivered += 1
        counts.in_flight += 1
        ok = False
        try:
            await inner(event)
            ok = event.outcome is not False
        finally:
            counts.in_flight -= 1
            if ok:
                counts.acked += 1
                failures.pop(message_id, None)
            else:
                counts.failed += 1
                tries = failures.pop(message_id, 0) + 1
                if tries > max_redeliveries:
                    counts.dead_lettered += 1
                else:
                    failures[message_id] = tries
                    if len(failures) > _REMEMBERED:
                        failures.popitem(last=False)

    return counted_delivery


@hookimpl
def micro_before_start(service: Service) -> None:
    address = service.options["metrics_address"]
    if address:
        server = _servers[service.id] = MetricsServer(address)
        service.metadata["metrics"] = server.address  # where a scraper finds it, through the registry


@hookimpl
def micro_after_stop(service: Service) -> None:
    server = _servers.pop(service.id, None)
    if server is not None:
        server.close()
