"""OpenTelemetry tracing for micro: installed, every call, handler, publish and delivery is a span.

Configured the standard OpenTelemetry way (``OTEL_SERVICE_NAME``,
``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_TRACES_SAMPLER``, ``OTEL_SDK_DISABLED``…).
"""

from typing import TYPE_CHECKING

from micro_core.plugins import lazy_exports

if TYPE_CHECKING:
    from micro_wrapper_opentelemetry.carrier import extract, inject
    from micro_wrapper_opentelemetry.provider import setup_tracing

__getattr__ = lazy_exports(
    __name__, {"extract": ".carrier", "inject": ".carrier", "setup_tracing": ".provider"}
)
__all__ = ["extract", "inject", "setup_tracing"]
