"""An OTLP/HTTP trace receiver in the test process, and the chain's services as processes."""

from __future__ import annotations

import gzip
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from micro_core.testing.processes import ServerProcess

APP = Path(__file__).parent / "chain_app.py"
KINDS = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    error: bool


class Receiver:
    """What a collector would get: every span exported to ``endpoint`` over OTLP/HTTP."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver._take(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _take(self, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {
                        a.key: getattr(a.value, a.value.WhichOneof("value")) for a in span.attributes
                    }
                    with self._lock:
                        self.spans.append(
                            ReceivedSpan(
                                service=resource["service.name"],
                                name=span.name,
                                kind=KINDS[span.kind],
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_id=span.parent_span_id.hex(),
                                attributes=attributes,
                                error=span.status.code == 2,
                            )
                        )

    def trace(self, trace_id: str, count: int, timeout: float = 30.0) -> list[ReceivedSpan]:
        """The spans of ``trace_id``, once ``count`` of them arrived."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                spans = [span for span in self.spans if span.trace_id == trace_id]
            if len(spans) >= count or time.monotonic() > deadline:
                return spans
            time.sleep(0.05)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def otlp_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def chain(tmp_path: Path, otlp_receiver: Receiver) -> Iterator[Callable[..., ServerProcess]]:
    """Start ``chain_app.py ROLE`` with the given MICRO_* settings, exporting to the receiver."""
    started: list[ServerProcess] = []

    def start(role: str, env: dict[str, str], *args: str) -> ServerProcess:
        process = ServerProcess(
            [sys.executable, str(APP), role, *args],
            port=0,
            ready_text="serving on" if role != "api" else "",
            ready=(lambda: True) if role == "api" else None,
            env={
                **os.environ,
                "MICRO_REGISTRY": "local",
                "MICRO_REGISTRY_ADDRESS": str(tmp_path / "registry"),
                "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": "50",
                "CHAIN_DONE": str(tmp_path / "done.txt"),
                "PYTHONUNBUFFERED": "1",
                **env,
            },
            log_path=tmp_path / f"{role}.log",
            name=role,
        )
        started.append(process)
        return process.start(timeout=60)

    yield start
    for process in reversed(started):
        process.stop()
