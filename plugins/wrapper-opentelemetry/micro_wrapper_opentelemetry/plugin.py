"""The hook implementations: a span around every call, handler, publish and delivery.

Each wrapper is composed once (per client, endpoint or subscription), so a span is the
only per-message cost. With ``OTEL_SDK_DISABLED=true`` the wrappers hand back the inner
layer untouched, and so do a server's (built at its start) while tracing is off (nowhere
to send spans, see :mod:`~micro_wrapper_opentelemetry.provider`); a client's, built
before, pass each message straight through until tracing is on.
The tracer is the API's proxy: spans go to the provider set at the service's start.

Spans follow the OpenTelemetry conventions: ``CLIENT``/``SERVER`` spans named
``service/Endpoint`` with ``rpc.*`` attributes, ``PRODUCER``/``CONSUMER`` spans named
``publish topic`` / ``process topic`` with ``messaging.*`` attributes. A failure sets the
span's status to error, records the exception and the micro error code
(``micro.error.code``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from types import ModuleType
from typing import TYPE_CHECKING

from micro_core.hookspecs import hookimpl
from micro_wrapper_opentelemetry.provider import disabled, setup_tracing, switch

if TYPE_CHECKING:
    from micro_core import Call, Event, Message, Service
    from micro_core.broker import EventHandler
    from micro_core.hookspecs import CallFunc, HandlerFunc, PublishFunc


def _spans() -> ModuleType:
    """The span helpers, imported once tracing is on (OpenTelemetry's import is slow)."""
    from micro_wrapper_opentelemetry import spans

    return spans


@hookimpl(wrapper=True, tryfirst=True)  # outermost: the span covers the other wrappers too
def micro_wrap_call(call: CallFunc) -> Generator[None, CallFunc, CallFunc]:
    inner = yield
    if disabled():
        return inner

    async def traced_call(request: Call) -> Message:
        if not switch.on:
            return await inner(request)
        spans = _spans()
        name = f"{request.service}/{request.endpoint}"
        attributes = spans.rpc(request.service, request.endpoint)
        with spans.span(name, spans.SpanKind.CLIENT, attributes, request.message.header, incoming=False):
            return await inner(request)

    return traced_call


@hookimpl(wrapper=True, tryfirst=True)
def micro_wrap_handler(
    service: str, endpoint: str, handler: HandlerFunc
) -> Generator[None, HandlerFunc, HandlerFunc]:
    inner = yield
    if disabled() or not switch.on:  # built at start, after micro_before_start: the switch is set
        return inner
    spans = _spans()
    name = f"{service}/{endpoint}"
    attributes = spans.rpc(service, endpoint)

    async def traced_handler(request: Message) -> Message:
        with spans.span(name, spans.SpanKind.SERVER, attributes, request.header, incoming=True):
            return await inner(request)

    return traced_handler


@hookimpl(wrapper=True, tryfirst=True)
def micro_wrap_publish(publish: PublishFunc) -> Generator[None, PublishFunc, PublishFunc]:
    inner = yield
    if disabled():
        return inner

    async def traced_publish(topic: str, message: Message) -> None:
        if not switch.on:
            return await inner(topic, message)
        spans = _spans()
        header = message.header
        attributes = spans.messaging("send", topic, header)
        with spans.span(f"publish {topic}", spans.SpanKind.PRODUCER, attributes, header, incoming=False):
            await inner(topic, message)

    return traced_publish


@hookimpl(wrapper=True, tryfirst=True)
def micro_wrap_subscriber(topic: str, handler: EventHandler) -> Generator[None, EventHandler, EventHandler]:
    inner = yield
    if disabled() or not switch.on:
        return inner
    spans = _spans()
    name = f"process {topic}"

    async def traced_delivery(event: Event) -> None:
        header = event.message.header
        attributes = spans.messaging("process", topic, header)
        with spans.span(name, spans.SpanKind.CONSUMER, attributes, header, incoming=True):
            await inner(event)

    return traced_delivery


@hookimpl
def micro_before_start(service: Service) -> None:
    setup_tracing(service.name)


@hookimpl
async def micro_after_stop(service: Service) -> None:
    """Export what is still buffered, so a stopping process loses no spans."""
    if switch.on:
        await asyncio.to_thread(_spans().flush)
