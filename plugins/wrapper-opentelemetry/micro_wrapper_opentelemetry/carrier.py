"""W3C trace context (``traceparent``, ``tracestate``, ``baggage``) in micro's message headers.

Call metadata (HTTP and gRPC transports) and broker message headers (RabbitMQ, Kafka,
the HTTP broker) are all one ``dict[str, str]`` in micro, so one carrier serves every
way a message travels. Headers are written in lower case, as W3C and gRPC metadata
have them; a Go peer's canonical ``Traceparent`` is read too.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from opentelemetry import propagate
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter

from micro_core import headers


class _HeaderGetter(Getter[Mapping[str, str]]):
    def get(self, carrier: Mapping[str, str], key: str) -> list[str] | None:
        value = carrier.get(key)
        if value is None:
            value = carrier.get(headers.go_spelling(key))  # headers.TRACEPARENT_GO from a Go peer
        return None if value is None else [value]

    def keys(self, carrier: Mapping[str, str]) -> list[str]:
        return list(carrier)


_GETTER = _HeaderGetter()


def inject(header: MutableMapping[str, str], context: Context | None = None) -> None:
    """Write the trace context of ``context`` (default: the current one) into ``header``."""
    propagate.inject(header, context=context)


def extract(header: Mapping[str, str]) -> Context:
    """The trace context a message arrived with (an empty context if it carried none)."""
    return propagate.extract(header, getter=_GETTER)


__all__ = ["extract", "inject"]
