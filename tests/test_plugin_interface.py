"""The plugin interface is written down in CONTRIBUTING.md and kept: every kernel module a
plugin or component imports is on its list, and every module on the list exists.

The floors themselves (kernel, plugins, micro_http, components) are import-linter's job in
``make lint`` (``.ci/layers.py``); this test is about *which* kernel modules are public.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNEL = ROOT / "micro_core"


def interface() -> set[str]:
    """The modules of the table between the ``interface`` markers of CONTRIBUTING.md."""
    text = (ROOT / "CONTRIBUTING.md").read_text()
    table = text.split("[start:interface]", 1)[1].split("[end:interface]", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return {module for cell in first_cells for module in re.findall(r"`(micro_core[\w.]*)`", cell)}


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _allowed(module: str, public: set[str]) -> bool:
    # micro_core.testing "and every module under it"
    return module in public or module.startswith("micro_core.testing.")


def kernel_imports(source: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for each kernel module a file imports (``from micro_core.x import y``
    counts ``micro_core.x``, or ``micro_core.x.y`` when ``y`` is itself a module)."""
    found = []
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name) for alias in node.names if alias.name.startswith("micro_core")
            ]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("micro_core")
        ):
            module = node.module or ""
            for alias in node.names:
                found.append(
                    (
                        node.lineno,
                        f"{module}.{alias.name}" if _is_module(f"{module}.{alias.name}") else module,
                    )
                )
    return found


def test_every_module_of_the_interface_exists():
    public = interface()
    assert "micro_core" in public and "micro_core.registry" in public
    assert [m for m in sorted(public) if not _is_module(m)] == []


def test_plugins_and_components_import_only_the_interface():
    public = interface()
    packages = [
        p for p in ROOT.glob("*/*/micro_*") if p.parts[-3] in ("plugins", "components") and p.is_dir()
    ]
    assert packages, "no plugin or component found"
    outside = [
        f"{source.relative_to(ROOT)}:{line}: {module}"
        for package in packages
        if not package.name.endswith(".egg-info")
        for source in sorted(package.rglob("*.py"))
        for line, module in kernel_imports(source)
        if not _allowed(module, public)
    ]
    assert outside == [], "kernel modules outside the plugin interface (CONTRIBUTING.md):\n" + "\n".join(
        outside
    )


def test_the_check_sees_a_module_outside_the_interface(tmp_path: Path):
    source = tmp_path / "driver.py"
    source.write_text("from micro_core.selector.cache import RandomSelector\nfrom micro_core import errors\n")
    modules = [module for _, module in kernel_imports(source)]
    assert modules == ["micro_core.selector.cache", "micro_core.errors"]
    assert not _allowed("micro_core.selector.cache", interface())
