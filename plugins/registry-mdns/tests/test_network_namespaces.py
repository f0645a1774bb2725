"""Two hosts on a LAN, made of network namespaces joined by a veth pair.

Inside the namespaces the registries use the production default, every interface:
safe here, because the namespaces have no link to any real network.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from micro_core.testing.processes import ServerProcess

NODE_SCRIPT = str(Path(__file__).with_name("mdns_node.py"))
PATIENCE = 15.0


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@pytest.fixture
def two_hosts() -> Iterator[tuple[str, str]]:
    """Namespaces A (10.77.0.1/24) and B (10.77.0.2/24) on one link; removed after the test."""
    tag = uuid.uuid4().hex[:6]
    hosts = (f"mdns-a-{tag}", f"mdns-b-{tag}")
    try:
        ip("netns", "add", hosts[0])
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"network namespaces are not permitted here (needs root and iproute2): {exc}")
    try:
        ip("netns", "add", hosts[1])
        ip(
            "link",
            "add",
            f"va{tag}",
            "netns",
            hosts[0],
            "type",
            "veth",
            "peer",
            f"vb{tag}",
            "netns",
            hosts[1],
        )
        for host, link, address in ((hosts[0], f"va{tag}", "10.77.0.1"), (hosts[1], f"vb{tag}", "10.77.0.2")):
            ip("-n", host, "addr", "add", f"{address}/24", "dev", link)
            ip("-n", host, "link", "set", link, "up")
            ip("-n", host, "link", "set", "lo", "up")
        yield hosts
    finally:
        for host in hosts:
            subprocess.run(["ip", "netns", "del", host], capture_output=True, timeout=10)


def lookup(host: str, name: str, want: str = "present") -> subprocess.CompletedProcess[str]:
    argv = [
        "ip",
        "netns",
        "exec",
        host,
        sys.executable,
        NODE_SCRIPT,
        "lookup",
        name,
        "all",
        want,
        str(PATIENCE),
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=PATIENCE + 10)


@pytest.mark.skipif(os.geteuid() != 0, reason="creating network namespaces needs root")
def test_a_node_on_one_host_is_found_from_the_other_and_expires_when_killed(
    two_hosts: tuple[str, str], tmp_path: Path
) -> None:
    name = f"lan-{uuid.uuid4().hex[:8]}"
    watch_argv = [sys.executable, NODE_SCRIPT, "watch", name, "all", str(3 * PATIENCE)]
    watcher = subprocess.Popen(
        ["ip", "netns", "exec", two_hosts[1], *watch_argv], stdout=subprocess.PIPE, text=True
    )
    assert watcher.stdout is not None
    assert watcher.stdout.readline() == "watching\n"
    ready = tmp_path / "ready"
    argv = [sys.executable, NODE_SCRIPT, "register", name, "a", "10.77.0.1:8080", "2", "all", str(ready)]
    node = ServerProcess(["ip", "netns", "exec", two_hosts[0], *argv], port=0, ready=ready.exists)
    node.start(timeout=PATIENCE)
    try:
        found = lookup(two_hosts[1], name)
        assert found.returncode == 0, found.stderr
        assert found.stdout.strip() == '["10.77.0.1:8080"]'

        assert watcher.stdout.readline() == "create a\n"
        node.kill()  # no goodbye: host B forgets it when the 2 s TTL runs out
        killed = time.monotonic()
        assert watcher.stdout.readline() == "delete a\n"
        assert time.monotonic() - killed < 3.5
        assert watcher.wait(PATIENCE) == 0
    finally:
        node.stop()
        if watcher.poll() is None:
            watcher.kill()
        watcher.wait(PATIENCE)
        watcher.stdout.close()
