"""Check one installed distribution in a venv of its own: ``python check_dist.py NAME [--extras] [--listed]``.

Every module the distribution ships is imported, so a dependency missing from its
``setup.cfg`` fails here, before any test runs: the venv holds only the kernel's wheel,
this distribution's wheel and what they declare. A module may need an extra's
requirement (``micro_core.testing`` needs pytest, from ``micro-kernel[test]``) until
``--extras`` says the extras are installed too. With ``--listed`` (once ``micro-cli`` is
installed beside it), ``micro plugins`` must list each of its ``micro.*`` entry points.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path, PurePosixPath


def modules(name: str) -> list[str]:
    """The importable modules of a distribution: its ``.py`` files inside real packages."""
    files = [PurePosixPath(str(f)) for f in distribution(name).files or []]
    packages = {f.parent for f in files if f.name == "__init__.py"}
    found = []
    for file in files:
        if file.suffix != ".py" or file.stem == "__main__" or file.parent not in packages:
            continue
        parts = file.with_suffix("").parts
        found.append(".".join(parts[:-1] if file.stem == "__init__" else parts))
    return sorted(found)


def _extra_requirements(name: str) -> set[str]:
    """The (normalised) names of what the distribution's extras require."""
    return {
        re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("-", "_")
        for requirement in distribution(name).requires or []
        if "extra ==" in requirement
    }


def check_imports(name: str, extras_installed: bool) -> None:
    names = modules(name)
    if not names:
        sys.exit(f"{name}: the wheel holds no importable module")
    optional = set() if extras_installed else _extra_requirements(name)
    waiting = []
    for module in names:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] not in optional:
                sys.exit(f"{name}: importing {module} failed with only its declared dependencies: {exc!r}")
            waiting.append(module)
        except Exception as exc:
            sys.exit(f"{name}: importing {module} failed: {exc!r}")
    later = f" ({len(waiting)} need an extra)" if waiting else ""
    print(f"{name} {distribution(name).version}: {len(names) - len(waiting)} modules import{later}")


def check_listed(name: str) -> None:
    """``micro plugins`` lists every ``micro.*`` entry point of the distribution, without an error."""
    declared = {
        (ep.group.removeprefix("micro."), ep.name)
        for ep in distribution(name).entry_points
        if ep.group.startswith("micro.")
    }
    micro = Path(sys.executable).parent / "micro"
    out = subprocess.run([str(micro), "plugins", "-o", "json"], capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    listed = {(r["kind"], r["name"]) for r in rows if r["distribution"] == name and not r["error"]}
    if declared - listed:
        sys.exit(f"{name}: micro plugins does not list {sorted(declared - listed)}:\n{out.stdout}")
    print(f"{name}: micro plugins lists {len(declared)} entry points")


if __name__ == "__main__":
    check_imports(sys.argv[1], "--extras" in sys.argv[2:])
    if "--listed" in sys.argv[2:]:
        check_listed(sys.argv[1])
