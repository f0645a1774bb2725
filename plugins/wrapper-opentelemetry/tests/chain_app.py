"""The services of the tracing test, one per process: ``python chain_app.py ROLE``.

- ``api``: an API-style caller (no server): opens a root span, calls A once, exits;
- ``a``: ``A.Work`` calls B and publishes to ``$CHAIN_TOPIC``;
- ``b``: ``B.Work`` answers;
- ``c``: consumes ``$CHAIN_TOPIC`` and writes each message's body to ``$CHAIN_DONE``.

Backends and OpenTelemetry settings come from the MICRO_* and OTEL_* environment.
"""

from __future__ import annotations

import os
import sys

from opentelemetry import trace

from micro_core import Service, context, run
from micro_wrapper_opentelemetry import extract, setup_tracing

TOPIC = os.environ.get("CHAIN_TOPIC", "orders")
#: The trace the API continues (as if a browser had started it).
CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class A:
    def __init__(self, service: Service) -> None:
        self._service = service

    async def work(self, order: str) -> str:
        answer = await self._service.client.call("b", "B.Work", order)
        await self._service.client.publish(TOPIC, order)
        return f"a({answer})"


class B:
    async def work(self, order: str) -> str:
        if order == "refuse":
            from micro_core import errors

            raise errors.Forbidden("b refuses", id="b")
        return f"b({order})"


async def api(order: str) -> None:
    service = Service("api")
    provider = setup_tracing("api")
    assert provider is not None, "the test sets OTEL_EXPORTER_OTLP_ENDPOINT"
    await service.connect()
    try:
        # As a gateway would continue a browser's trace: the caller's traceparent and tracestate.
        caller = extract({"traceparent": CALLER, "tracestate": "micro=chain"})
        tracer = trace.get_tracer("api")
        with tracer.start_as_current_span("GET /orders", caller, kind=trace.SpanKind.SERVER):
            try:
                print("reply", await service.client.call("a", "A.Work", order), flush=True)
            except Exception as exc:
                print("error", exc, flush=True)
    finally:
        await service.close()
        provider.force_flush()


def main() -> None:
    role = sys.argv[1]
    if role == "api":
        run(api(sys.argv[2]))
        return
    service = Service(role)
    if role == "a":
        service.handle(A(service))
    elif role == "b":
        service.handle(B())
    else:
        done = os.environ["CHAIN_DONE"]

        async def consume(order: str) -> None:
            with open(done, "a") as out:
                header = context.metadata()
                out.write(f"{order} {header.get('traceparent')} {header.get('tracestate')}\n")

        service.subscribe(TOPIC, consume)
    service.run()


if __name__ == "__main__":
    main()
