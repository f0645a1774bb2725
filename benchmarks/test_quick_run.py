"""CI runs the quick benchmark: it must complete and report every group, with ratios.

Timings are reported, never asserted: this machine is shared and noisy.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_quick_run_reports_every_group_with_its_baselines(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((tmp_path / "RESULTS.json").read_text())
    groups = {row["group"] for row in report["results"]}
    assert {"rpc", "stream", "startup", "memory"} <= groups
    http = [r for r in report["results"] if (r["group"], r["name"]) == ("rpc", "micro http")]
    assert http and all("raw grpc.aio" in r["ratios"] and r["rate"] > 0 for r in http)
    print((tmp_path / "RESULTS.md").read_text())  # the figures, in the CI log
