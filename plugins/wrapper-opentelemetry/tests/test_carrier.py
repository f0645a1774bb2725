"""The carrier writes W3C trace context in lower case and reads it in Go's spelling too."""

from __future__ import annotations

from opentelemetry import trace

from micro_core import headers
from micro_wrapper_opentelemetry.carrier import extract, inject

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_go_peer_s_traceparent_continues_the_same_trace() -> None:
    for header in ({headers.TRACEPARENT: TRACEPARENT}, {headers.TRACEPARENT_GO: TRACEPARENT}):
        span = trace.get_current_span(extract(header)).get_span_context()
        assert (f"{span.trace_id:032x}", f"{span.span_id:016x}") == tuple(TRACEPARENT.split("-")[1:3])

    written: dict[str, str] = {}
    inject(written, extract({headers.TRACEPARENT_GO: TRACEPARENT}))
    assert written[headers.TRACEPARENT] == TRACEPARENT
