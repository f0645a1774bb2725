"""The spans themselves: one context manager for every kind, and the attributes of each.

Imported only once tracing is on (see :mod:`micro_wrapper_opentelemetry.provider`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import Attributes

from micro_core import errors, headers
from micro_wrapper_opentelemetry.carrier import extract, inject

_tracer = trace.get_tracer("micro")


@contextlib.contextmanager
def span(
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


def rpc(service: str, endpoint: str) -> Attributes:
    return {"rpc.system": "micro", "rpc.service": service, "rpc.method": endpoint}


def messaging(operation: str, topic: str, header: dict[str, str]) -> Attributes:
    return {
        "messaging.operation.type": operation,
        "messaging.destination.name": topic,
        "messaging.message.id": header.get(headers.ID, ""),
    }


def flush() -> None:
    """Export every finished span now (blocks: run it in a thread)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush()


__all__ = ["SpanKind", "flush", "messaging", "rpc", "span"]
