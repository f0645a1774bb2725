"""The greeter tour (what ``make run`` runs) works end to end."""

import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).parent.parent / "examples" / "greeter" / "demo.py"


def test_the_greeter_tour_runs_on_the_embedded_defaults(tmp_path):
    env = {**os.environ, "MICRO_REGISTRY_ADDRESS": str(tmp_path)}
    result = subprocess.run([sys.executable, str(DEMO)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "registered: [('greeter', '1.0.0', 2)]" in out
    assert "Hello Ada, from the demo's greeter" in out
    assert "Debug.Health: {'status': 'ok'}" in out
    assert "unknown endpoint -> NotFound" in out
    assert out.count("got a greeting for") == 2
    assert "both greeters stopped cleanly: [0, 0]" in out
