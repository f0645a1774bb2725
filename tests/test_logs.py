"""``log_format=json``: one JSON object per line, with service, node, trace id and call id."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from micro_core import Event, context, headers
from micro_core.logs import JSONFormatter, configure

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class Lines(logging.Handler):
    """Collects what a logger writes, as the JSON objects the formatter made."""

    def __init__(self, service: str, node: str) -> None:
        super().__init__()
        self.setFormatter(JSONFormatter(service, node))
        self.lines: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture(autouse=True)
def info_level() -> Iterator[None]:
    for name in ("orders", "mailer"):
        logging.getLogger(name).setLevel(logging.INFO)
    yield
    for name in ("orders", "mailer"):
        logging.getLogger(name).setLevel(logging.NOTSET)


class Orders:
    async def place(self, item: str) -> str:
        logging.getLogger("orders").info("placing %s", item)
        return item


@pytest.mark.parametrize("header", [headers.TRACEPARENT, headers.TRACEPARENT_GO], ids=["python", "go"])
async def test_a_handler_s_log_line_carries_the_trace_and_call_ids(micro_service, header: str):
    service = await micro_service(Orders(), name="orders")
    lines = Lines("orders", service.id)
    logging.getLogger("orders").addHandler(lines)
    try:
        with context.with_metadata(**{header: f"00-{TRACE_ID}-{CALLER_SPAN}-01"}):
            await service.client.call("orders", "Orders.Place", "tea")
        logging.getLogger("orders").warning("outside any call")
    finally:
        logging.getLogger("orders").removeHandler(lines)

    inside, outside = lines.lines
    assert {k: v for k, v in inside.items() if k != "time"} == {
        "level": "INFO",
        "logger": "orders",
        "message": "placing tea",
        "service": "orders",
        "node": service.id,
        "trace_id": TRACE_ID,
        "call_id": CALLER_SPAN,
        "endpoint": "Orders.Place",
    }
    assert inside["time"].endswith("Z")
    assert set(outside) == {"time", "level", "logger", "message", "service", "node"}


async def test_an_event_s_call_id_is_its_message_id(micro_service):
    lines = Lines("mailer", "mailer-1")

    async def send(event: Event) -> None:
        logging.getLogger("mailer").info("sending")
        await event.ack()
        done.set()

    done = asyncio.Event()
    service = await micro_service(name="mailer", setup=lambda s: s.subscribe("mails", send))
    logging.getLogger("mailer").addHandler(lines)
    try:
        await service.client.publish("mails", "hi")
        await asyncio.wait_for(done.wait(), 5)
    finally:
        logging.getLogger("mailer").removeHandler(lines)
    [line] = lines.lines
    assert line["topic"] == "mails" and len(line["call_id"]) == 32 and "trace_id" not in line


def test_an_unknown_format_fails_loudly():
    with pytest.raises(ValueError, match="expected one of text, json"):
        configure("orders", "orders-1", format="yaml")


def test_a_service_process_logs_json_lines(spawn_service, tmp_path: Path):
    node = spawn_service(env={"MICRO_LOG_FORMAT": "json"})
    assert node.log_path is not None
    [serving] = [json.loads(line) for line in node.log_path.read_text().splitlines() if "serving on" in line]
    assert serving["service"] == "echo" and serving["node"].startswith("echo-") and serving["level"] == "INFO"
