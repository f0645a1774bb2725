"""``micro health`` across processes: a failing check makes its node not ready, and it comes back."""

from __future__ import annotations

import sys
import time
from pathlib import Path


def test_a_failing_check_takes_the_node_out_of_selection_until_it_passes(micro, spawn, apps, tmp_path: Path):
    databases = [tmp_path / "db-0", tmp_path / "db-1"]
    pids = []
    for database in databases:
        database.touch()
        node = spawn(sys.executable, str(apps / "pantry.py"), env={
            "PANTRY_DATABASE": str(database), "MICRO_HEALTH_INTERVAL": "0.2"})  # fmt: skip
        pids.append(node.process.pid)

    def answering(calls: int = 12) -> set[int]:  # both nodes: all but 1 in 2000 runs
        return {micro("call", "pantry", "Pantry.Who").json() for _ in range(calls)}

    assert answering() == set(pids)
    ok = micro("health", "pantry")
    assert ok.code == 0 and [row["status"] for row in ok.lines()] == ["ok", "ok"], ok

    databases[1].unlink()
    time.sleep(1.0)  # a check round, the re-registration, and the callers' registry reads
    unwell = micro("health", "pantry", "-o", "table")
    assert unwell.code == 1 and "1 of 2 nodes are not ok" in unwell.err, unwell
    header, *rows = unwell.out.splitlines()
    assert header.split() == ["NODE", "ADDRESS", "VERSION", "STATUS", "FAILING"]
    assert sorted(row.split()[3] for row in rows) == ["not_ready", "ok"]
    assert "database: ConnectionError: database unreachable" in unwell.out
    assert answering() == {pids[0]}  # callers pass the node over; it was not killed:
    assert micro("stats", "pantry").code == 0

    databases[1].touch()
    time.sleep(1.0)
    assert micro("health", "pantry").code == 0
    assert answering() == set(pids)
