"""``micro new plugin bot-input NAME`` and ``bot-command NAME``: the generated distribution is
lint- and type-clean, installs, passes its own tests (micro-bot's input conformance suite
against a stand-in chat; the command through an in-memory chat), and ``micro bot`` then
offers it.

Here, not in micro-cli's tests, because the generated plugins need micro-bot installed:
micro-bot's test extra brings micro-cli, not the other way round.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import micro_bot
import micro_core
from micro_cli.commands.new import BOT_KINDS, MAX_NAME, PLUGIN_KINDS

BIN = Path(sys.executable).parent
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


def run(
    *argv: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None, input: str = ""
) -> str:
    """Run a tool; fail with its output if it fails, else return what it printed."""
    done = subprocess.run(
        [str(arg) for arg in argv], cwd=cwd, env=env, input=input, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{argv}:\n{done.stdout}{done.stderr}"
    return done.stdout


def lint(source: Path) -> None:
    run(BIN / "ruff", "check", "--no-cache", ".", cwd=source)
    run(BIN / "ruff", "format", "--no-cache", "--check", ".", cwd=source)


def test_the_bot_kinds_have_templates_beside_the_driver_kinds() -> None:
    assert BOT_KINDS == ["bot-command", "bot-input"]
    assert not set(BOT_KINDS) & set(PLUGIN_KINDS)


@pytest.mark.parametrize("kind", BOT_KINDS)
def test_new_bot_plugin_installs_and_passes_its_own_tests(process_env, tmp_path: Path, kind: str) -> None:
    dist = f"micro-{kind}-acme-lab"
    run(BIN / "micro", "new", "plugin", kind, "acme-lab", "--dir", tmp_path, env=process_env)
    source = tmp_path / dist
    lint(source)

    run(*PIP, "install", "--no-deps", "--no-build-isolation", source, cwd=tmp_path)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_")}
        run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=source, env=env)
        if kind == "bot-input":
            assert "--acme-lab-token" in run(BIN / "micro", "bot", "--help", env=process_env)
        else:
            said = run(BIN / "micro", "bot", "--inputs", "console", env=process_env, input="help acme-lab\n")
            assert said == "`acme-lab <service>`: how many nodes of a service run, and which versions\n"
    finally:
        run(*PIP, "uninstall", "-y", dist, cwd=tmp_path)


@pytest.mark.parametrize("name", ["x", "the_longest-name-allowed-is-30"])
def test_generated_bot_code_is_lint_and_type_clean_whatever_the_name_length(
    process_env, tmp_path: Path, name: str
) -> None:
    assert len(name) in (1, MAX_NAME)
    packages = []
    for kind in BOT_KINDS:
        run(BIN / "micro", "new", "plugin", kind, name, "--dir", tmp_path, env=process_env)
        source = tmp_path / f"micro-{kind}-{name.replace('_', '-')}"
        lint(source)
        packages += [p for p in source.iterdir() if (p / "__init__.py").exists()]
    assert len(packages) == len(BOT_KINDS)

    # editable installs mypy cannot follow (an installed wheel it finds by itself, and
    # refuses site-packages in MYPYPATH)
    paths = {Path(str(module.__file__)).parent.parent for module in (micro_core, micro_bot)}
    editable = sorted(str(path) for path in paths if path.name != "site-packages")
    env = {**os.environ, "MYPYPATH": os.pathsep.join(editable)}
    run(BIN / "mypy", "--strict", "--cache-dir", tmp_path / ".mypy_cache", *packages, cwd=tmp_path, env=env)
