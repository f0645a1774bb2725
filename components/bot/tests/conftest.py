"""Fixtures: the example services (greeter, the oncall command) in-process or as real processes,
and the command suite every input must carry (``command_suite``)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from micro_core.testing.plugin import StartProcess
from micro_core.testing.processes import ServerProcess

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

#: The command suite: what a user sends and what the reply must contain, with the greeter of
#: ``examples/greeter`` and the ``oncall`` command of ``examples/botcommand`` registered.
CASES: list[tuple[str, list[str]]] = [
    ("ping", ["pong"]),
    ("services", ["greeter", "micro.bot.oncall"]),
    (
        "describe greeter",
        ["Greeter.Hello(HelloRequest{name string})", "HelloReply{message string, node string}"],
    ),
    ('call greeter Greeter.Hello {"name":"Ada"}', ['"message": "Hello Ada', "```"]),
    ("call greeter Greeter.Hello name=Grace", ['"message": "Hello Grace']),
    ("call greeter Greeter.Hello help", ["name  string"]),
    ("call greeter Greeter.Hello nme=Ada", ["Greeter.Hello has no field 'nme' (its fields: name)"]),
    ('call greeter Greeter.Hello {"name": Ada}', ["bad JSON body", "usage: `call <service>"]),
    ("call greeter Greeter.Missing {}", ["greeter has no endpoint 'Greeter.Missing' (its endpoints: "]),
    ("call nosuch Thing.Do {}", ["error: ", "nosuch"]),
    ("health greeter", ["ok"]),
    ("oncall payments", ["on call for payments: Grace"]),
    ("oncall nowhere", ["error: no team 'nowhere'"]),
    ("help", ["describe <service>", "oncall [team]", "(from service micro.bot.oncall)"]),
    ("frobnicate", ["unknown command `frobnicate`"]),
]

Say = Callable[[str], Awaitable[str]]


async def run_suite(say: Say) -> None:
    """Send every case and check its reply; the failure names the case and the whole reply."""
    for text, expected in CASES:
        reply = await say(text)
        missing = [part for part in expected if part not in reply]
        assert not missing, f"{text!r} -> {reply!r} lacks {missing}"
        assert "Traceback" not in reply


@pytest.fixture
def command_suite() -> Callable[[Say], Awaitable[None]]:
    """``await command_suite(say)``: run every case of :data:`CASES` through ``say``."""
    return run_suite


def example(path: str) -> ModuleType:
    """A module of ``examples/`` (they are scripts, not packages)."""
    file = EXAMPLES / path
    spec = importlib.util.spec_from_file_location(f"example_{file.stem}", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def examples(micro_service: Callable[..., Any]) -> None:
    """The greeter and the oncall command service, in-process on the test's memory drivers."""
    greeter = example("greeter/greeter.py")
    oncall = example("botcommand/oncall.py")
    await micro_service(greeter.Greeter(node="test"), name="greeter")
    await micro_service(name="micro.bot.oncall", setup=lambda s: s.handle(oncall.OnCall(), "Command"))


@pytest.fixture
def process_env(micro_process_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The environment of every real process of one test (``micro_process_env``: a private
    local registry, short TTLs) with a private CLI cache for the ``micro`` commands."""
    micro_process_env["MICRO_CLI_CACHE_DIR"] = str(tmp_path / "cache")
    return micro_process_env


@pytest.fixture
def example_processes(micro_process: StartProcess) -> None:
    """The greeter and the oncall command service as real processes on the local registry."""
    micro_process(sys.executable, EXAMPLES / "greeter" / "greeter.py")
    micro_process(sys.executable, EXAMPLES / "botcommand" / "oncall.py")


PROSODY_CONFIG = """\
pidfile = "{dir}/prosody.pid"; data_path = "{dir}/data"; run_as_root = true
log = {{ info = "{dir}/prosody.log"; error = "{dir}/prosody.err" }}
interfaces = {{ "127.0.0.1" }}; c2s_ports = {{ {port} }}; c2s_interfaces = {{ "127.0.0.1" }}
c2s_direct_tls_ports = {{ }}; s2s_ports = {{ }}; modules_disabled = {{ "s2s" }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; "time"; "version" }}
authentication = "internal_plain"; c2s_require_encryption = false
allow_unencrypted_plain_auth = true; storage = "internal"
VirtualHost "localhost"
Component "conference.localhost" "muc"
    muc_room_locking = false
    muc_room_default_whois = "anyone"
"""


class Prosody:
    """A private Prosody on a free loopback port, all of its files under one directory."""

    def __init__(self, directory: Path) -> None:
        from micro_core.testing.processes import free_port

        self.port = free_port()
        self.directory = directory
        (directory / "data").mkdir(parents=True)
        self.config = directory / "prosody.cfg.lua"
        self.config.write_text(PROSODY_CONFIG.format(dir=directory, port=self.port))
        self.process: ServerProcess | None = None

    def register(self, user: str, password: str) -> str:
        """Create the account ``user@localhost``; returns its JID."""
        import subprocess

        argv = ["prosodyctl", "--config", str(self.config), "register", user, "localhost", password]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stdout + done.stderr
        return f"{user}@localhost"

    def start(self) -> None:
        argv = ["prosody", "--config", str(self.config), "-F"]
        self.process = ServerProcess(
            argv, port=self.port, log_path=self.directory / "stdout.log", name="prosody"
        )
        self.process.start(timeout=30)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


@pytest.fixture
def prosody(tmp_path: Path) -> Iterator[Prosody]:
    """A running private Prosody (``scripts/servers/prosody.sh install`` installs it)."""
    server = Prosody(tmp_path / "prosody")
    server.start()
    yield server
    server.stop()
