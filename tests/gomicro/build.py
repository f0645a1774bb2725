"""Build the Go Micro peer once per source version: ``python tests/gomicro/build.py`` prints its path.

The binary is cached in ``.cache/gomicro/<hash of go.mod, go.sum and main.go>/`` (git
ignores ``.cache``), so a test run or benchmark with a warm cache does not run Go at
all; a changed source or dependency builds a new one and removes the older builds. The
first build fetches Go Micro v5 from the Go module proxy (about a minute on a cold Go
module cache).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent
CACHE = SOURCE.parents[1] / ".cache" / "gomicro"


def build() -> Path:
    """The peer's binary, built if this version of the sources has none yet; ``RuntimeError`` if Go fails."""
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        digest.update((SOURCE / name).read_bytes())
    binary = CACHE / digest.hexdigest()[:16] / "gomicro"
    if binary.exists():
        return binary
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("the Go Micro peer needs the go command (Go 1.24+) on PATH")
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_name(f"gomicro.{os.getpid()}")  # renamed into place: concurrent builds are safe
    built = subprocess.run(
        [go, "build", "-buildvcs=false", "-o", str(partial), "."],
        cwd=SOURCE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if built.returncode != 0:
        raise RuntimeError(f"go build in {SOURCE} failed:\n{built.stderr}")
    partial.rename(binary)
    for stale in CACHE.iterdir():  # builds of older sources
        if stale != binary.parent:
            shutil.rmtree(stale, ignore_errors=True)
    return binary


if __name__ == "__main__":
    try:
        print(build())
    except RuntimeError as exc:
        sys.exit(str(exc))
