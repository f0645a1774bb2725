"""OpenTelemetry tracing for micro: installed, every call, handler, publish and delivery is a span.

Configured the standard OpenTelemetry way (``OTEL_SERVICE_NAME``,
``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_TRACES_SAMPLER``, ``OTEL_SDK_DISABLED``…).
"""

from micro_wrapper_opentelemetry.carrier import extract, inject
from micro_wrapper_opentelemetry.provider import setup_tracing

__all__ = ["extract", "inject", "setup_tracing"]
