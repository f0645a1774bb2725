"""``micro new plugin KIND NAME``: for every kind of driver and for a wrapper, the generated
distribution is lint- and type-clean, installs, passes its own tests (the kernel's conformance
suite for a driver, a real call and event for a wrapper), and shows up in ``micro plugins``
and ``micro --help``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import micro_core
from micro_cli.commands.new import MAX_NAME, PLUGIN_KINDS
from micro_core.plugins import DRIVER_GROUPS

BIN = Path(sys.executable).parent
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
#: What ``micro new plugin KIND acme-lab`` is found by (a wrapper: only its ``micro.plugins``
#: entry point), and the flag of its one setting.
ACME_LAB = {
    "codec": ("application/x-acme-lab", "--codec-acme-lab-indent"),
    "registry": ("acme-lab", "--registry-acme-lab-check-interval"),
    "broker": ("acme-lab", "--broker-acme-lab-retry-delay"),
    "transport": ("acme-lab", "--transport-acme-lab-call-timeout"),
    "selector": ("acme-lab", "--selector-acme-lab-zone"),
    "wrapper": (None, "--wrapper-acme-lab-slow"),
}


def run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> None:
    """Run a tool in ``cwd``; fail with its output if it fails."""
    done = subprocess.run(
        [str(arg) for arg in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{argv}:\n{done.stdout}{done.stderr}"


def lint(source: Path) -> None:
    run(BIN / "ruff", "check", "--no-cache", ".", cwd=source)
    run(BIN / "ruff", "format", "--no-cache", "--check", ".", cwd=source)


def test_every_kind_of_driver_and_the_wrapper_have_a_template() -> None:
    assert PLUGIN_KINDS == sorted([*DRIVER_GROUPS, "wrapper"]) == sorted(ACME_LAB)


@pytest.mark.parametrize("kind", sorted(ACME_LAB))
def test_new_plugin_installs_and_passes_its_own_tests(micro, tmp_path: Path, kind: str) -> None:
    entry, flag = ACME_LAB[kind]
    dist = f"micro-{kind}-acme-lab"
    created = micro("new", "plugin", kind, "acme-lab", "--dir", str(tmp_path))
    assert created.code == 0, created
    source = tmp_path / dist
    lint(source)

    run(*PIP, "install", "--no-deps", "--no-build-isolation", source, cwd=tmp_path)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_")}
        run(sys.executable, "-m", "pytest", "-q", cwd=source, env=env)

        rows = {(r["kind"], r["name"]): r for r in micro("plugins").lines()}
        if entry is not None:
            assert rows[(kind, entry)]["distribution"] == dist
            assert rows[(kind, entry)]["error"] == ""
        assert rows[("plugins", f"{kind}-acme-lab")]["distribution"] == dist
        assert rows[("plugins", f"{kind}-acme-lab")]["selected"] == "yes"
        assert flag in micro("options").out  # every plugin option, by kind
    finally:
        run(*PIP, "uninstall", "-y", dist, cwd=tmp_path)


@pytest.mark.parametrize("name", ["x", "the_longest-name-allowed-is-30"])
def test_generated_code_is_lint_and_type_clean_whatever_the_name_length(
    micro, tmp_path: Path, name: str
) -> None:
    assert len(name) in (1, MAX_NAME)  # the shortest and the longest
    packages = []
    for kind in PLUGIN_KINDS:
        assert micro("new", "plugin", kind, name, "--dir", str(tmp_path)).code == 0
        source = tmp_path / f"micro-{kind}-{name.replace('_', '-')}"
        lint(source)
        packages += [p for p in source.iterdir() if (p / "__init__.py").exists()]
    assert len(packages) == len(PLUGIN_KINDS)

    kernel = Path(micro_core.__file__).parent.parent
    env = dict(os.environ)
    if kernel.name != "site-packages":  # an editable install, which mypy cannot follow by itself
        env["MYPYPATH"] = str(kernel)
    run(BIN / "mypy", "--strict", "--cache-dir", tmp_path / ".mypy_cache", *packages, cwd=tmp_path, env=env)


def test_every_template_ships_in_the_cli_wheel(tmp_path: Path) -> None:
    cli = Path(__file__).parent.parent
    shutil.copytree(cli, tmp_path / "cli", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    run(*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path, tmp_path / "cli", cwd=tmp_path)
    (wheel,) = tmp_path.glob("micro_cli-*.whl")
    shipped = {name for name in zipfile.ZipFile(wheel).namelist() if "/templates/" in name}
    templates = cli / "micro_cli" / "templates"
    expected = {str(p.relative_to(cli)) for p in templates.rglob("*") if p.is_file() and p.suffix != ".pyc"}
    assert shipped == expected


def test_new_plugin_refuses_bad_input_and_writes_nothing(micro, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    unknown = micro("new", "plugin", "database", "acme", "--dir", out)
    assert unknown.code == 2 and "database" in unknown.err
    too_long = micro("new", "plugin", "codec", "x" * (MAX_NAME + 1), "--dir", out)
    assert too_long.code == 2 and f"up to {MAX_NAME}" in too_long.err
    assert micro("new", "plugin", "codec", "Acme Lab", "--dir", out).code == 2
    assert not (tmp_path / "out").exists()

    assert micro("new", "plugin", "codec", "acme", "--dir", out).code == 0
    readme = tmp_path / "out" / "micro-codec-acme" / "README.md"
    readme.write_text("my notes")
    again = micro("new", "plugin", "codec", "acme", "--dir", out)
    assert again.code == 2 and "already exists" in again.err
    assert readme.read_text() == "my notes"
