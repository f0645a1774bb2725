"""The layer contracts of the monorepo, checked by import-linter: ``python .ci/layers.py``.

The floors are the ones CONTRIBUTING.md draws, arrows pointing down only:

    components (micro_cli | micro_api | ...)   independent of each other
    micro_http                                 the shared HTTP library
    plugins (micro_registry_consul | ...)      independent of each other
    micro_core                                 the kernel

and a component imports no plugin. The packages are found in ``plugins/*/`` and
``components/*/`` on every run, so a new distribution is under the contracts from its
first commit, with no list to keep. The contracts are written to an INI file that
``lint-imports`` reads; this script exits with its status.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNEL = "micro_core"
HTTP = "micro_http"


def packages(floor: str) -> list[str]:
    """The top-level packages of the distributions under ``floor`` (``plugins`` or ``components``)."""
    return sorted(
        init.parent.name
        for init in ROOT.glob(f"{floor}/*/micro_*/__init__.py")
        if not init.parent.name.endswith(".egg-info")
    )


def contracts(plugins: list[str], components: list[str]) -> str:
    middle = [HTTP] if HTTP in components else []
    tops = [c for c in components if c != HTTP]
    floors = [" | ".join(f) for f in (tops, middle, plugins, [KERNEL]) if f]
    lines = [
        "[importlinter]",
        "root_packages =",
        *(f"    {p}" for p in [KERNEL, *plugins, *middle, *tops]),
        "",
        "[importlinter:contract:floors]",
        "name = floors: components over micro_http over plugins over the kernel; siblings independent",
        "type = layers",
        "layers =",
        *(f"    {floor}" for floor in floors),
    ]
    if plugins and tops:
        lines += [
            "",
            "[importlinter:contract:components-no-plugins]",
            "name = a component imports no plugin (it asks the kernel for drivers by name)",
            "type = forbidden",
            "source_modules =",
            *(f"    {c}" for c in tops),
            "forbidden_modules =",
            *(f"    {p}" for p in plugins),
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    config = ROOT / ".cache" / "importlinter.ini"
    config.parent.mkdir(exist_ok=True)
    config.write_text(contracts(packages("plugins"), packages("components")))
    lint = Path(sys.executable).parent / "lint-imports"
    return subprocess.run([str(lint), "--no-cache", str(config)], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
