"""Services on three hosts, over mutual TLS: Consul on one, a service on another, its caller on a third.

The hosts are network namespaces this test makes (and removes): each has its own address
on a private subnet, joined through a bridge in a fourth namespace, so nothing touches the
machine's own network. The service binds every interface and must advertise an address
the caller can reach; calls and pub/sub cross hosts over mutual TLS from MICRO_*
variables alone; a plaintext or untrusted client is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from micro_core.testing.processes import ServerProcess
from micro_core.testing.tls import TLSFiles

APPS = Path(__file__).parent / "apps"
SUBNET = "10.77.0"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("consul"),
    reason="needs root, iproute2 and consul (scripts/servers/consul.sh install)",
)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def hosts() -> Iterator[Callable[[int], list[str]]]:
    """Three hosts, ``10.77.0.1``-``.3``; ``on(n)`` is the command prefix that runs on host n."""
    tag = uuid.uuid4().hex[:6]
    hub, names = f"mh-{tag}-hub", [f"mh-{tag}-h{n}" for n in (1, 2, 3)]
    made: list[str] = []
    try:
        for name in (hub, *names):
            ip("netns", "add", name)
            made.append(name)
        ip("-n", hub, "link", "add", "br0", "type", "bridge")
        ip("-n", hub, "link", "set", "br0", "up")
        for n, name in enumerate(names, start=1):
            ip("-n", hub, "link", "add", f"v{n}", "type", "veth", "peer", "name", "eth0", "netns", name)
            ip("-n", hub, "link", "set", f"v{n}", "master", "br0", "up")
            ip("-n", name, "addr", "add", f"{SUBNET}.{n}/24", "dev", "eth0")
            ip("-n", name, "link", "set", "eth0", "up")
            ip("-n", name, "link", "set", "lo", "up")
        yield lambda n: ["ip", "netns", "exec", names[n - 1]]
    finally:
        for name in reversed(made):  # removing a namespace removes its end of each veth pair
            subprocess.run(["ip", "netns", "del", name], check=False, timeout=10)


def test_calls_and_events_cross_three_hosts_over_mutual_tls(hosts, tmp_path: Path) -> None:
    ca = trustme.CA()
    service_tls = TLSFiles.issue(ca, tmp_path / "h2", f"{SUBNET}.2")
    caller_tls = TLSFiles.issue(ca, tmp_path / "h3", f"{SUBNET}.3")
    stranger = TLSFiles.issue(trustme.CA(), tmp_path / "stranger", "stranger")
    events = tmp_path / "events.txt"
    common = {
        "MICRO_REGISTRY": "consul",
        "MICRO_REGISTRY_ADDRESS": f"{SUBNET}.1:8500",
        "MICRO_TLS_CA": service_tls.ca,
        "PYTHONUNBUFFERED": "1",
    }
    consul = ServerProcess(
        [*hosts(1), "consul", "agent", "-dev", "-client", f"{SUBNET}.1", "-bind", f"{SUBNET}.1"],
        port=0,
        log_path=tmp_path / "consul.log",
        ready_text="Synced node info",
        name="consul on host 1",
    )
    echo = ServerProcess(
        [*hosts(2), sys.executable, str(APPS / "echo_service.py"), "echo"],
        port=0,
        env={
            **common,
            "MICRO_SERVER_ADDRESS": "0.0.0.0:0",  # every interface: it must advertise a reachable one
            "MICRO_BROKER_ADDRESS": "0.0.0.0:0",
            "MICRO_TLS_CERT": service_tls.cert,
            "MICRO_TLS_KEY": service_tls.key,
            "ECHO_EVENTS_FILE": str(events),
        },
        log_path=tmp_path / "echo.log",
        ready_text="serving on",
        name="echo on host 2",
    )
    started = time.monotonic()
    with consul, echo:
        result = subprocess.run(
            [*hosts(3), sys.executable, str(APPS / "hosts_caller.py")],
            env={
                **os.environ,
                **common,
                "MICRO_TLS_CLIENT_CERT": caller_tls.cert,
                "MICRO_TLS_CLIENT_KEY": caller_tls.key,
                "STRANGER_CERT": stranger.cert,
                "STRANGER_KEY": stranger.key,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        report = json.loads(result.stdout.strip().splitlines()[-1])
        deadline = time.monotonic() + 10
        while (
            not (events.exists() and len(events.read_text().splitlines()) >= 2)
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    assert time.monotonic() - started < 60

    assert report["echo"].startswith(f"{SUBNET}.2:")
    assert report["texts"] == [str(n) for n in range(20)]
    assert {address.split(":")[0] for address, _ in report["brokers"]} == {f"{SUBNET}.2"}
    assert {secure for _, secure in report["brokers"]} == {"true"}
    assert sorted(line.split(" ", 1)[1] for line in events.read_text().splitlines()) == [
        '"across hosts"',
        '"job 1"',
    ]
    assert report["plaintext"].startswith("refused")
    assert report["untrusted"].startswith("refused")
