"""Start-up is lazy: ``micro --help`` imports no part of micro_core, ``micro services`` no transport
or broker; and shell completion is click's."""

from __future__ import annotations

import subprocess
import sys


def imported(micro_env: dict[str, str], *args: str) -> set[str]:
    """The modules ``micro ARGS`` imported, from ``python -X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "micro_cli", *args],
        env=micro_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }


def test_help_imports_no_micro_core_once_the_options_are_cached(micro, micro_env):
    assert micro("--help").code == 0  # the first run fills the cache
    modules = imported(micro_env, "--help")
    assert "click" in modules
    assert not {m for m in modules if m.startswith(("micro_core", "asyncio", "msgspec", "grpc", "stevedore"))}


PROBE = """
import sys
from micro_cli.main import build
build().main(["services"], standalone_mode=False)
print(" ".join(sorted(sys.modules)))
"""


def test_services_loads_the_registry_driver_only(micro_env, shop):
    env = {**micro_env, "MICRO_DISABLE_PLUGIN_AUTOLOAD": "1"}  # what the CLI itself imports
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    modules = set(done.stdout.split())
    assert "micro_core.registry.local" in modules
    assert not {
        m for m in modules if m.startswith(("grpc", "micro_core.transport.", "micro_core.broker."))
    } - {
        "micro_core.transport.base",  # the interfaces, which the kernel's API imports; no driver
        "micro_core.transport.limits",
        "micro_core.broker.base",
    }


def test_help_lists_every_core_option_with_its_variable(micro):
    text = micro("--help").out
    for flag, env in [
        ("--registry", "MICRO_REGISTRY"),
        ("--registry-address", "MICRO_REGISTRY_ADDRESS"),
        ("--broker", "MICRO_BROKER"),
        ("--broker-address", "MICRO_BROKER_ADDRESS"),
        ("--transport", "MICRO_TRANSPORT"),
        ("--selector", "MICRO_SELECTOR"),
    ]:
        assert f"{flag} " in text and env in text


def test_a_flag_beats_the_environment(micro, shop, tmp_path):
    empty = tmp_path / "elsewhere"
    assert micro("services").lines()
    assert micro("--registry-address", str(empty), "services").lines() == []


def test_shell_completion_is_clicks(micro):
    result = micro(env={"_MICRO_COMPLETE": "bash_complete", "COMP_WORDS": "micro ser", "COMP_CWORD": "1"})
    assert result.code == 0 and "services" in result.out
