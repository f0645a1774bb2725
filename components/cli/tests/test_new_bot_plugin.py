"""``micro new plugin bot-input NAME`` and ``bot-command NAME``: the generated distribution is
lint- and type-clean, installs, passes its own tests (micro-bot's input conformance suite
against a stand-in chat; the command through an in-memory chat), and ``micro bot`` then
offers it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import micro_bot
import micro_core
from micro_cli.commands.new import BOT_KINDS, MAX_NAME, PLUGIN_KINDS

from .test_new_plugin import BIN, PIP, lint, run


def test_the_bot_kinds_have_templates_beside_the_driver_kinds() -> None:
    assert BOT_KINDS == ["bot-command", "bot-input"]
    assert not set(BOT_KINDS) & set(PLUGIN_KINDS)


@pytest.mark.parametrize("kind", BOT_KINDS)
def test_new_bot_plugin_installs_and_passes_its_own_tests(micro, tmp_path: Path, kind: str) -> None:
    dist = f"micro-{kind}-acme-lab"
    created = micro("new", "plugin", kind, "acme-lab", "--dir", str(tmp_path))
    assert created.code == 0, created
    source = tmp_path / dist
    lint(source)

    run(*PIP, "install", "--no-deps", "--no-build-isolation", source, cwd=tmp_path)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_")}
        run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=source, env=env)
        if kind == "bot-input":
            assert "--acme-lab-token" in micro("bot", "--help").out
        else:
            said = micro("bot", "--inputs", "console", input="help acme-lab\n")
            assert said.out == "`acme-lab <service>`: how many nodes of a service run, and which versions\n"
    finally:
        run(*PIP, "uninstall", "-y", dist, cwd=tmp_path)


@pytest.mark.parametrize("name", ["x", "the_longest-name-allowed-is-30"])
def test_generated_bot_code_is_lint_and_type_clean_whatever_the_name_length(
    micro, tmp_path: Path, name: str
) -> None:
    assert len(name) in (1, MAX_NAME)
    packages = []
    for kind in BOT_KINDS:
        assert micro("new", "plugin", kind, name, "--dir", str(tmp_path)).code == 0
        source = tmp_path / f"micro-{kind}-{name.replace('_', '-')}"
        lint(source)
        packages += [p for p in source.iterdir() if (p / "__init__.py").exists()]
    assert len(packages) == len(BOT_KINDS)

    # editable installs mypy cannot follow
    paths = [Path(str(module.__file__)).parent.parent for module in (micro_core, micro_bot)]
    env = {**os.environ, "MYPYPATH": os.pathsep.join(map(str, paths))}
    run(BIN / "mypy", "--strict", "--cache-dir", tmp_path / ".mypy_cache", *packages, cwd=tmp_path, env=env)
