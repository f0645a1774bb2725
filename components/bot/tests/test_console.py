"""The ``console`` input: the command suite in-process, and ``micro bot`` reading a pipe."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

from micro_bot import Bot
from micro_bot.inputs.console import ConsoleInput
from micro_core import Options, Plugins, Service

from .conftest import CASES

MICRO = str(Path(sys.executable).parent / "micro")


class Replies(io.StringIO):
    """Standard output that keeps each reply (the console writes one per call)."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[str] = []

    def write(self, text: str) -> int:
        self.replies.append(text.removesuffix("\n"))
        return super().write(text)


async def test_input_console_runs_the_command_suite(micro_settings, examples, command_suite):
    lines = [text for text, _ in CASES]
    stdout = Replies()
    console = ConsoleInput("operator", stdin=io.StringIO("\n".join(lines) + "\n"), stdout=stdout)
    service = Service(
        "micro.bot", plugins=Plugins(autoload=False), options=Options(code=micro_settings, environ={})
    )
    await Bot(service, [console]).run()  # returns at the end of the input
    answers = dict(zip(lines, stdout.replies, strict=True))

    async def say(text: str) -> str:
        return answers[text]

    await command_suite(say)


def test_input_console_from_the_command_line(process_env):
    done = subprocess.run(
        [MICRO, "bot"],
        input="ping\nservices\nsay what\n",
        env={**process_env, "MICRO_BOT_INPUTS": "console"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "pong",
        "no services are registered",
        "unknown command `say`; `help` lists what I can do",
    ]


def test_a_missing_input_or_setting_is_one_line_of_usage(process_env):
    for inputs, said in [
        ("xmpp", "the xmpp input needs --xmpp-jid user@domain and --xmpp-password"),
        ("nosuch", "no bot input 'nosuch'; installed: console, slack, xmpp"),
        ("", "no inputs: choose them with --inputs or MICRO_BOT_INPUTS (e.g. xmpp,slack)"),
    ]:
        done = subprocess.run(
            [MICRO, "bot", "--inputs", inputs], env=process_env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr


def test_input_console_finds_services_through_micro_s_global_flags(process_env, example_processes, tmp_path):
    elsewhere = {
        **process_env,
        "MICRO_REGISTRY_ADDRESS": str(tmp_path / "empty"),
        "MICRO_BOT_INPUTS": "console",
    }
    flag = ["--registry-address", process_env["MICRO_REGISTRY_ADDRESS"]]
    done = subprocess.run(
        [MICRO, *flag, "bot"], input="services\n", env=elsewhere, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "greeter" in done.stdout and "micro.bot.oncall" in done.stdout


def test_input_console_prompts_a_person_at_a_terminal(process_env):
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [MICRO, "bot", "--inputs", "console"],
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=process_env,
        text=True,
    ) as bot:
        os.close(follower)
        os.write(leader, b"ping\n\x04")  # a line, then end of input (Ctrl-D)
        out, _ = bot.communicate(timeout=60)
    os.close(leader)
    assert out == "micro> pong\nmicro> "
