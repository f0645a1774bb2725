"""The SDK tracer provider a service gets when its application set none: OTLP, the OTEL_* way.

An application (or a test) that installed its own provider keeps it; otherwise the
first service to start installs one whose resource names that service
(``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` win), samples as
``OTEL_TRACES_SAMPLER`` says, and exports as ``OTEL_TRACES_EXPORTER`` says: ``otlp``
(the default, OTLP over HTTP to ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``), ``console`` or
``none``. ``OTEL_SDK_DISABLED=true`` installs nothing and turns the wrappers off.

Tracing is on once there is somewhere for spans to go: a provider the application set,
or one installed here because ``OTEL_TRACES_EXPORTER`` or an OTLP endpoint is set.
Installed but unconfigured (every service of a development venv), the wrappers pass
calls straight through: no spans made, no exports tried against a collector that is
not there, and nothing of OpenTelemetry imported (its API and SDK take ~0.2 s to import).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

#: Variables that say where spans go; without one (and no provider set) tracing stays off.
DESTINATIONS = ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


class _Switch:
    """Whether spans are made; read per message by the wrappers (one attribute look-up)."""

    on = False


switch = _Switch()


def disabled() -> bool:
    """``OTEL_SDK_DISABLED`` as the OpenTelemetry specification reads it (only ``true`` disables)."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def _exporter(name: str) -> SpanExporter:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    if name == "console":
        return ConsoleSpanExporter()
    if name != "otlp":
        raise ValueError(
            f"OTEL_TRACES_EXPORTER={name!r}: micro-wrapper-opentelemetry offers otlp, console, none"
        )
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    )
    if protocol != "http/protobuf":
        raise ValueError(
            f"OTLP protocol {protocol!r} is not installed: micro-wrapper-opentelemetry exports http/protobuf"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def setup_tracing(service_name: str) -> TracerProvider | None:
    """Turn tracing on: with the application's provider if it set one, else with an SDK provider
    for ``service_name`` if the environment names a destination (see the module's doc).

    :return: the provider installed now, or None if none was installed.
    """
    if disabled():
        return None
    configured = any(os.environ.get(name) for name in DESTINATIONS)
    if not configured and "opentelemetry.trace" not in sys.modules:
        return None  # no destination, and no application provider (it would have imported the API)
    from opentelemetry import trace

    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        switch.on = True  # the application's own provider
        return None
    if not configured:
        return None
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    for name in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(","):
        if name.strip() not in ("", "none"):
            provider.add_span_processor(BatchSpanProcessor(_exporter(name.strip())))
    trace.set_tracer_provider(provider)
    switch.on = True
    return provider


__all__ = ["DESTINATIONS", "disabled", "setup_tracing", "switch"]
