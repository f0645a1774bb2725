"""``micro`` against a Consul agent that is down: one line, the registry's own exit code,
and no "Unclosed client session" from the HTTP sessions opened to try."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from micro_core.testing.processes import free_port

MICRO = str(Path(sys.executable).parent / "micro")
#: micro_cli.failures.REGISTRY_UNREACHABLE (micro-cli is a test dependency, not imported here).
REGISTRY_UNREACHABLE = 6


def test_an_agent_that_is_down_is_one_line_and_exit_6(tmp_path: Path):
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_")}
    env["MICRO_CLI_CACHE_DIR"] = str(tmp_path)
    done = subprocess.run(
        [MICRO, "--registry", "consul", "--registry-address", address, "services"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == REGISTRY_UNREACHABLE, done
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"micro: error: cannot reach the consul registry at {address}")
