"""``micro plugins`` and the ``micro.components`` subcommands, proved with a distribution this
test builds, pip-installs and uninstalls: a component, a plugin option and a broken plugin."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

DIST = "micro-test-cli-extras"
SETUP_CFG = """
[metadata]
name = micro-test-cli-extras
version = 4.5.6

[options]
py_modules = micro_test_cli_extras

[options.entry_points]
micro.components =
    hello = micro_test_cli_extras:hello
micro.plugins =
    cli-extras = micro_test_cli_extras
    cli-extras-broken = micro_test_cli_extras_missing
"""
MODULE = '''
import click
from micro_core import hookimpl


@hookimpl
def micro_add_options(options):
    options.add("greeting_style", "plain", "how the hello component greets")


@click.command()
@click.argument("name")
@click.pass_obj
def hello(session, name):
    """Say hello, in the configured style."""
    click.echo(f"hello {name}, {session.options['greeting_style']}")
'''


@pytest.fixture(scope="module")
def extras(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    source = tmp_path_factory.mktemp("extras")
    (source / "setup.cfg").write_text(SETUP_CFG)
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    (source / "micro_test_cli_extras.py").write_text(MODULE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-build-isolation", str(source)], check=True, timeout=300
    )
    try:
        yield
    finally:
        subprocess.run([*pip, "uninstall", "-y", DIST], check=True, timeout=300)


def test_plugins_lists_the_built_in_drivers_and_the_selected_ones(micro):
    result = micro("plugins")
    assert result.code == 0, result
    rows = {(r["kind"], r["name"]): r for r in result.lines()}
    assert rows[("registry", "local")]["selected"] == "yes"
    assert rows[("registry", "memory")]["selected"] == ""
    assert rows[("transport", "http")]["distribution"] == "micro-kernel"
    flagged = {(r["kind"], r["name"]): r for r in micro("--transport", "memory", "plugins").lines()}
    assert flagged[("transport", "memory")]["selected"] == "yes"  # selection follows the flags


def test_an_installed_component_is_a_subcommand_with_its_plugin_option(micro, extras):
    help_text = micro("--help").out
    assert "hello" in help_text and f"from {DIST} 4.5.6" in help_text
    listed = micro("options", "greeting", "-o", "table").out
    assert "--greeting-style TEXT" in listed and "MICRO_GREETING_STYLE" in listed
    assert micro("hello", "Ada").out.strip() == "hello Ada, plain"
    assert micro("--greeting-style", "warm", "hello", "Ada").out.strip() == "hello Ada, warm"
    assert micro("hello", "Ada", env={"MICRO_GREETING_STYLE": "loud"}).out.strip() == "hello Ada, loud"


def test_a_broken_plugin_is_listed_with_its_error(micro, extras):
    result = micro("plugins", "-o", "table")
    assert result.code == 0, result
    line = next(line for line in result.out.splitlines() if "cli-extras-broken" in line)
    assert DIST in line and "ModuleNotFoundError" in line
    rows = {(r["kind"], r["name"]): r for r in micro("plugins").lines()}
    assert rows[("plugins", "cli-extras")]["selected"] == "yes"
    assert rows[("components", "hello")]["version"] == "4.5.6"


def test_an_unknown_command_is_a_usage_error(micro):
    result = micro("nosuchcommand")
    assert result.code == 2 and "No such command" in result.err
