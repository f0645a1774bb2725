"""Every input and command is documented and has a test of its own (as tests/test_hookspecs.py
does for the kernel's hooks): a test fails when one lacks either."""

from __future__ import annotations

import inspect
import re
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from micro_bot import COMMANDS_GROUP, INPUTS_GROUP
from micro_bot.commands import Command, load_commands
from micro_bot.inputs import Input, input_class

TESTS = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
OURS = "micro-bot"
INPUTS = sorted(ep.name for ep in entry_points(group=INPUTS_GROUP) if ep.dist and ep.dist.name == OURS)
COMMANDS = sorted(ep.name for ep in entry_points(group=COMMANDS_GROUP) if ep.dist and ep.dist.name == OURS)


def has_test(kind: str, name: str) -> bool:
    return re.search(rf"def test_{kind}_{name}[(_]", TESTS) is not None


def test_the_issue_s_inputs_and_commands_are_installed():
    assert {"console", "xmpp", "slack"} <= set(INPUTS)
    wanted = "help ping echo time hello services describe health stats call publish register deregister watch"
    assert set(wanted.split()) <= set(COMMANDS)


@pytest.mark.parametrize("name", INPUTS)
def test_input_is_documented_with_every_setting(name):
    cls = input_class(name)
    assert issubclass(cls, Input) and cls.name == name
    assert inspect.getdoc(inspect.getmodule(cls)), f"the module of input {name} has no docstring"
    for option in cls.options:
        assert option.name.startswith(f"bot_{name}_"), f"{option.name}: an input's settings are bot_{name}_*"
        assert option.help, f"{option.name} has no help"


@pytest.mark.parametrize("name", INPUTS)
def test_input_has_a_test(name):
    assert has_test("input", name), f"no test_input_{name} in {Path(__file__).parent}"


@pytest.mark.parametrize("command", load_commands(), ids=lambda c: c.name)
def test_command_is_documented(command: Command):
    assert command.usage.split()[0] == command.name, "usage starts with the command's name"
    assert command.description, f"{command.name} has no description"
    assert command.regex.fullmatch(command.name) or command.regex.pattern.startswith(command.name)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_a_test(name):
    assert has_test("command", name), f"no test_command_{name} in {Path(__file__).parent}"


def test_no_command_runs_a_shell():
    package = Path(inspect.getfile(Command)).parents[1]
    for source in package.rglob("*.py"):
        text = source.read_text()
        for forbidden in ("subprocess", "os.system", "os.popen", "create_subprocess", "shell=True"):
            assert forbidden not in text, f"{source} mentions {forbidden}"
