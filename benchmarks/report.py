"""RESULTS.md: one table per group, with every ratio to the baselines of the same run."""

from __future__ import annotations

from pathlib import Path

from benchmarks.harness import Result


def _params(result: Result) -> str:
    return ", ".join(f"{k}={v}" for k, v in result.params.items())


def _ratios(result: Result) -> str:
    return "; ".join(f"{v:.2f}x {k}" for k, v in result.ratios.items()) or "—"


def write_report(path: Path, info: dict[str, object], results: list[Result]) -> None:
    lines = ["# Benchmark results", "", "Written by `python -m benchmarks`; do not edit by hand.", ""]
    lines += [f"- **{k}**: {v}" for k, v in info.items()]
    for group in dict.fromkeys(r.group for r in results):
        lines += [
            "",
            f"## {group}",
            "",
            "| case | params | calls | calls/s | p50 ms | p99 ms | ratios | note |",
            "|---|---|---:|---:|---:|---:|---|---|",
        ]
        for r in (r for r in results if r.group == group):
            cells = [r.name, _params(r), str(r.calls), f"{r.rate:,.0f}", f"{r.p50_ms:.3f}", f"{r.p99_ms:.3f}"]
            lines.append("| " + " | ".join([*cells, _ratios(r), r.note]) + " |")
    path.write_text("\n".join(lines) + "\n")
