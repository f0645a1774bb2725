"""``micro publish`` and ``micro subscribe`` on the HTTP broker."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from micro_core.testing.processes import wait_until

MICRO = str(Path(sys.executable).parent / "micro")


def test_publish_reaches_a_service_subscriber(micro, spawn, apps, tmp_path: Path):
    events = tmp_path / "events.txt"
    spawn(sys.executable, str(apps / "shop.py"), env={"SHOP_EVENTS_FILE": str(events)})
    result = micro("publish", "orders", '{"item": "tea", "quantity": 3}')
    assert result.code == 0, result
    wait_until(lambda: events.exists() and "tea 3" in events.read_text(), 20, "the event")


def test_publish_without_a_message_is_bad_input(micro):
    result = micro("publish", "orders")
    assert result.code == 2 and "no message" in result.err


def test_subscribe_prints_events_as_json_lines_until_interrupted(micro, micro_env, tmp_path: Path):
    out = tmp_path / "out.jsonl"
    with out.open("w") as sink, (tmp_path / "err.txt").open("w") as errors:
        subscriber = subprocess.Popen(
            [MICRO, "subscribe", "orders", "--queue", "printers"], env=micro_env, stdout=sink, stderr=errors
        )
    try:
        deadline = time.monotonic() + 30
        while not out.read_text().strip():  # publish until the subscription is in place
            assert time.monotonic() < deadline, "no event arrived"
            assert micro("publish", "orders", '{"item": "jam"}').code == 0
            time.sleep(0.5)
        subscriber.send_signal(signal.SIGINT)
        assert subscriber.wait(20) == 0
    finally:
        if subscriber.poll() is None:
            subscriber.kill()
            subscriber.wait(5)
    event = json.loads(out.read_text().splitlines()[0])
    assert event["topic"] == "orders" and event["message"] == {"item": "jam"}
