"""micro and Go Micro v5 over mDNS, in a network namespace of their own: calls, errors, listings, events.

Go Micro's mDNS cannot be kept to loopback, so everything runs inside ``unshare -rn``
(a new user and network namespace: only a loopback link, multicast routed on it). The
scenario (``tests/apps/gomicro_mdns.py``) runs once for the module and reports what
each side saw; each test checks one part of the report.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(300)

SCENARIO = Path(__file__).parent / "apps" / "gomicro_mdns.py"
NETWORK = "ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo src 127.0.0.1"


@pytest.fixture(scope="module")
def report(gomicro_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.fail("these tests need unshare (util-linux) and ip (iproute2)")
    work = tmp_path_factory.mktemp("gomicro-mdns")
    command = f'{NETWORK} && exec "$0" "$@"'
    done = subprocess.run(
        [
            "unshare",
            "-rn",
            "sh",
            "-c",
            command,
            sys.executable,
            str(SCENARIO),
            str(gomicro_binary),
            str(work),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0 and done.stdout, f"the scenario failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.splitlines()[-1])


def test_python_finds_a_go_micro_service_every_time(report: dict[str, Any]) -> None:
    assert report["python_discovers_go"] == 20  # 20 fresh registries, each on its first look


def test_a_go_micro_client_calls_a_python_service_sequentially_and_64_at_once(report: dict[str, Any]) -> None:
    sequential, concurrent = report["go_to_py_sequential"], report["go_to_py_concurrent"]
    assert (sequential["calls"], sequential["failures"]) == (500, 0)
    assert sequential["reply"]["msg"] == "hello go from python"
    assert sequential["reply"]["metadata"]["Trace-Id"] == "t-1"
    assert (concurrent["calls"], concurrent["failures"]) == (256, 0)


def test_a_python_client_calls_a_go_micro_service_sequentially_and_64_at_once(report: dict[str, Any]) -> None:
    assert report["py_to_go_sequential"]["failures"] == 0
    assert report["py_to_go_sequential"]["reply"]["msg"] == "hello py499 from go"
    assert report["py_to_go_sequential"]["reply"]["metadata"]["Trace-Id"] == "t-2"
    assert report["py_to_go_concurrent"]["failures"] == 0


def test_errors_cross_both_ways_with_id_code_detail_and_status(report: dict[str, Any]) -> None:
    assert report["go_to_py_error"]["errors"] == [
        {"id": "py.greeter", "code": 409, "detail": "closed", "status": "Conflict"}
    ]
    assert report["py_to_go_error"] == {
        "type": "Conflict",
        "id": "go.greeter",
        "code": 409,
        "detail": "closed",
        "status": "Conflict",
    }


def test_each_side_lists_every_service_of_the_other_with_endpoints(report: dict[str, Any]) -> None:
    go_sees = {s["name"]: s for s in report["go_lists"]["services"]}
    # py.greeter's process also holds a broker subscription (micro.http.broker): Go lists both.
    assert {"py.greeter", "micro.http.broker", "py.other", "py.client", "go.greeter"} <= set(go_sees)
    assert {"Greeter.Hello", "Greeter.Fail"} <= {e["name"] for e in go_sees["py.greeter"]["endpoints"]}
    assert report["python_lists"]["go.greeter"] == [
        "Greeter.Echo",
        "Greeter.Fail",
        "Greeter.Hello",
        "Greeter.Refuse",
        "Greeter.Upper",
    ]


def test_events_cross_both_ways_on_the_http_broker(report: dict[str, Any]) -> None:
    assert report["go_to_py_events"] == ['{"seq": 0}', '{"seq": 1}', '{"seq": 2}']
    assert [json.loads(body) for body in report["py_to_go_events"]] == [{"seq": i} for i in range(3)]


def test_a_go_node_killed_mid_run_is_failed_over(report: dict[str, Any]) -> None:
    assert report["failover_failures"] == 0, report.get("failover_errors")
