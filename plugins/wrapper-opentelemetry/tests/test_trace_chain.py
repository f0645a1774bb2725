"""One trace across four processes: api → A → B over HTTP or gRPC, A → topic → C over RabbitMQ or Kafka.

Every process exports its spans over OTLP/HTTP to a receiver in the test, as it would
to a collector; the test joins them by trace id and checks who is whose parent.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from micro_broker_kafka.testing import KafkaServer
from micro_broker_rabbitmq.testing import RabbitMQServer


@pytest.fixture(scope="module")
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RabbitMQServer(tmp_path_factory.mktemp("rabbitmq")).start()
    yield server.address
    server.stop()


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = KafkaServer(tmp_path_factory.mktemp("kafka")).start()
    yield server.address
    server.stop()


def run_api(chain, env: dict[str, str], order: str) -> str:
    api = chain("api", env, order)
    assert api.process is not None
    api.process.wait(60)
    assert api.log_path is not None
    return api.log_path.read_text()


@pytest.mark.parametrize(
    ("transport", "broker"), [("http", "rabbitmq"), ("grpc", "kafka")], ids=["http-rabbitmq", "grpc-kafka"]
)
def test_one_trace_with_the_right_parents_across_processes_transports_and_brokers(
    chain, otlp_receiver, tmp_path: Path, request: pytest.FixtureRequest, transport: str, broker: str
):
    env = {
        "MICRO_TRANSPORT": transport,
        "MICRO_BROKER": broker,
        "MICRO_BROKER_ADDRESS": request.getfixturevalue(broker),
        "CHAIN_TOPIC": f"orders.{uuid.uuid4().hex[:8]}",
    }
    chain("c", env)
    chain("b", env)
    chain("a", env)
    assert "reply a(b(o-1))" in run_api(chain, env, "o-1")

    [root] = [s for s in otlp_receiver.spans if s.name == "GET /orders"]
    assert (root.trace_id, root.parent_id) == ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331")
    spans = otlp_receiver.trace(root.trace_id, 7)
    by_name = {(s.service, s.kind, s.name): s for s in spans}
    topic = env["CHAIN_TOPIC"]
    expected = {  # span -> its parent
        ("api", "CLIENT", "a/A.Work"): ("api", "SERVER", "GET /orders"),
        ("a", "SERVER", "a/A.Work"): ("api", "CLIENT", "a/A.Work"),
        ("a", "CLIENT", "b/B.Work"): ("a", "SERVER", "a/A.Work"),
        ("b", "SERVER", "b/B.Work"): ("a", "CLIENT", "b/B.Work"),
        ("a", "PRODUCER", f"publish {topic}"): ("a", "SERVER", "a/A.Work"),
        ("c", "CONSUMER", f"process {topic}"): ("a", "PRODUCER", f"publish {topic}"),
    }
    assert set(by_name) == {*expected, ("api", "SERVER", "GET /orders")}
    for child, parent in expected.items():
        assert by_name[child].parent_id == by_name[parent].span_id, f"{child} is not a child of {parent}"
    assert by_name[("a", "SERVER", "a/A.Work")].attributes["rpc.method"] == "A.Work"

    # What C received carried the producer's context in its message headers.
    order, traceparent, tracestate = (tmp_path / "done.txt").read_text().split()
    producer = by_name[("a", "PRODUCER", f"publish {topic}")]
    assert (order, traceparent[:-3]) == ("o-1", f"00-{root.trace_id}-{producer.span_id}")
    assert tracestate == "micro=chain"  # carried through both hops and the broker
    assert int(traceparent[-2:], 16) & 1  # sampled


def test_a_remote_error_is_recorded_on_both_sides_with_its_code(chain, otlp_receiver):
    env = {"MICRO_TRANSPORT": "http", "MICRO_BROKER": "memory"}
    chain("b", env)
    chain("a", env)
    assert "error" in run_api(chain, env, "refuse")
    [root] = [s for s in otlp_receiver.spans if s.name == "GET /orders"]
    spans = otlp_receiver.trace(root.trace_id, 5)
    failed = {(s.service, s.kind, s.name): s.attributes.get("micro.error.code") for s in spans if s.error}
    assert failed == {
        ("b", "SERVER", "b/B.Work"): 403,
        ("a", "CLIENT", "b/B.Work"): 403,
        ("a", "SERVER", "a/A.Work"): 403,
        ("api", "CLIENT", "a/A.Work"): 403,
    }


def test_without_a_destination_no_spans_are_made(chain, otlp_receiver, tmp_path: Path):
    """Installed but unconfigured (no OTEL_* destination): calls pass straight through."""
    env = {"MICRO_TRANSPORT": "http", "MICRO_BROKER": "memory", "OTEL_EXPORTER_OTLP_ENDPOINT": ""}
    chain("b", env)
    a = chain("a", {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint})
    assert "reply" in run_api(chain, {"MICRO_TRANSPORT": "http", "MICRO_BROKER": "memory"}, "o-2")
    time.sleep(0.5)
    assert {s.service for s in otlp_receiver.spans} == {"api", "a"}
    assert a.process is not None and a.process.poll() is None
