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
import contextlib
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import Attributes

from micro_core import errors, headers
from micro_core.hookspecs import hookimpl
from micro_wrapper_opentelemetry.carrier import extract, inject
from micro_wrapper_opentelemetry.provider import disabled, setup_tracing, switch

if TYPE_CHECKING:
    from micro_core import Call, Event, Message, Service
    from micro_core.broker import EventHandler
    from micro_core.hookspecs import CallFunc, HandlerFunc, PublishFunc

_tracer = trace.get_tracer("micro")


@contextlib.contextmanager
def _span(
    name: str, kind: SpanKind, attributes: Attributes, header: dict[str, str], *, incoming: bool
) -> Iterator[None]:
    """A span around what is inside; failures recorded with the micro error code.

    Incoming (a handler, a delivery): the span continues the context ``header`` carries and
    is current inside, so calls and publishes made there are its children. Outgoing (a
    call, a publish): the span continues the current context and goes into ``header``.
    """
    if incoming:
        parent = extract(header)
        span = _tracer.start_span(name, parent, kind, attributes)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
    else:
        span = _tracer.start_span(name, kind=kind, attributes=attributes)
        inject(header, trace.set_span_in_context(span))
    try:
        yield
    except BaseException as exc:
        if isinstance(exc, errors.MicroError):
            span.set_attribute("micro.error.code", exc.code)
            span.set_attribute("rpc.response.status_code", exc.code)
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        if incoming:
            otel_context.detach(token)
        span.end()


def _rpc(service: str, endpoint: str) -> Attributes:
    return {"rpc.system": "micro", "rpc.service": service, "rpc.method": endpoint}


def _messaging(operation: str, topic: str, header: dict[str, str]) -> Attributes:
    return {
        "messaging.operation.type": operation,
        "messaging.destination.name": topic,
        "messaging.message.id": header.get(headers.ID, ""),
    }


@hookimpl(wrapper=True, tryfirst=True)  # outermost: the span covers the other wrappers too
def micro_wrap_call(call: CallFunc) -> Generator[None, CallFunc, CallFunc]:
    inner = yield
    if disabled():
        return inner

    async def traced_call(request: Call) -> Message:
        if not switch.on:
            return await inner(request)
        name = f"{request.service}/{request.endpoint}"
        attributes = _rpc(request.service, request.endpoint)
        with _span(name, SpanKind.CLIENT, attributes, request.message.header, incoming=False):
            return await inner(request)

    return traced_call


@hookimpl(wrapper=True, tryfirst=True)
def micro_wrap_handler(
    service: str, endpoint: str, handler: HandlerFunc
) -> Generator[None, HandlerFunc, HandlerFunc]:
    inner = yield
    if disabled() or not switch.on:  # built at start, after micro_before_start: the switch is set
        return inner
    name = f"{service}/{endpoint}"
    attributes = _rpc(service, endpoint)

    async def traced_handler(request: Message) -> Message:
        with _span(name, SpanKind.SERVER, attributes, request.header, incoming=True):
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
        header = message.header
        with _span(
            f"publish {topic}", SpanKind.PRODUCER, _messaging("send", topic, header), header, incoming=False
        ):
            await inner(topic, message)

    return traced_publish


@hookimpl(wrapper=True, tryfirst=True)
def micro_wrap_subscriber(topic: str, handler: EventHandler) -> Generator[None, EventHandler, EventHandler]:
    inner = yield
    if disabled() or not switch.on:
        return inner
    name = f"process {topic}"

    async def traced_delivery(event: Event) -> None:
        header = event.message.header
        with _span(name, SpanKind.CONSUMER, _messaging("process", topic, header), header, incoming=True):
            await inner(event)

    return traced_delivery


@hookimpl
def micro_before_start(service: Service) -> None:
    setup_tracing(service.name)


@hookimpl
async def micro_after_stop(service: Service) -> None:
    """Export what is still buffered, so a stopping process loses no spans."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        await asyncio.to_thread(provider.force_flush)
