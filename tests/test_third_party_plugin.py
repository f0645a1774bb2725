"""A plugin nobody in the kernel knows about: a distribution built by this test, pip-installed,
found by entry point and selected by environment variable, then uninstalled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

DIST = "micro-test-thirdparty"

SETUP_CFG = """
[metadata]
name = micro-test-thirdparty
version = 1.2.3

[options]
py_modules = micro_test_thirdparty

[options.entry_points]
micro.registry =
    thirdparty = micro_test_thirdparty:ThirdPartyRegistry
micro.plugins =
    thirdparty-stamp = micro_test_thirdparty
    thirdparty-broken = micro_test_thirdparty_missing
micro.acme.gadgets =
    sprocket = micro_test_thirdparty:ThirdPartyRegistry
"""

MODULE = '''
"""A registry driver that is the memory one under another name, and a call wrapper."""
from micro_core import hookimpl
from micro_core.registry.memory import MemoryRegistry


class ThirdPartyRegistry(MemoryRegistry):
    name = "thirdparty"


@hookimpl(wrapper=True)
def micro_wrap_call(call):
    inner = yield

    async def stamped(request):
        request.message.header["X-Stamped-By"] = "thirdparty"
        return await inner(request)

    return stamped
'''

PROBE = """
import asyncio, json
from micro_core import Service, context, run

class Echo:
    async def headers(self) -> dict[str, str]:
        return dict(context.metadata())

async def main():
    service = Service("probe", handlers=[Echo()], transport="memory", broker="memory",
                      server_address="probe:0")
    async with service:
        seen = await service.client.call("probe", "Echo.Headers")
        print(json.dumps({"registry": type(service.registry).__name__,
                          "stamp": seen.get("X-Stamped-By"),
                          "failures": sorted(service.plugins.failures)}))

run(main())
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    source = tmp_path_factory.mktemp("thirdparty")
    (source / "setup.cfg").write_text(textwrap.dedent(SETUP_CFG))
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    (source / "micro_test_thirdparty.py").write_text(MODULE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", str(source)], check=True)
    try:
        yield
    finally:
        subprocess.run([*pip, "uninstall", "-y", DIST], check=True)


def probe(**env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_selected_by_environment_variable(installed):
    seen = probe(MICRO_REGISTRY="thirdparty")
    assert seen["registry"] == "ThirdPartyRegistry"


def test_autoloaded_wrapper_applies_and_a_broken_plugin_is_reported_not_fatal(installed):
    seen = probe(MICRO_REGISTRY="memory")
    assert seen["stamp"] == "thirdparty"
    assert seen["failures"] == ["thirdparty-broken"]


def test_a_plugin_can_be_blocked_by_name(installed):
    seen = probe(MICRO_REGISTRY="memory", MICRO_BLOCK_PLUGINS="thirdparty-stamp")
    assert seen["stamp"] is None


def test_autoloading_can_be_disabled(installed):
    seen = probe(MICRO_REGISTRY="memory", MICRO_DISABLE_PLUGIN_AUTOLOAD="1")
    assert seen["stamp"] is None and seen["failures"] == []


def test_a_blocked_driver_says_so(installed):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, "MICRO_REGISTRY": "thirdparty", "MICRO_BLOCK_PLUGINS": "registry-thirdparty"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "registry 'thirdparty' is blocked by MICRO_BLOCK_PLUGINS" in result.stderr


def test_a_driver_that_is_not_installed_names_the_pip_line():
    from micro_core import DriverNotFound, Service

    with pytest.raises(DriverNotFound, match="pip install micro-registry-etcd"):
        Service("x", registry="etcd")


def test_the_installed_plugin_is_in_the_inventory(installed):
    from micro_core import Plugins

    rows = {(r.group, r.name): r for r in Plugins(autoload=False).inventory()}
    row = rows[("micro.registry", "thirdparty")]
    assert (row.distribution, row.version) == (DIST, "1.2.3")
    assert "ModuleNotFoundError" in rows[("micro.plugins", "thirdparty-broken")].error
    assert Path(rows[("micro.registry", "local")].distribution) == Path("micro-kernel")
    # a group of another micro distribution (the bot's inputs and commands, say): listed too
    assert rows[("micro.acme.gadgets", "sprocket")].distribution == DIST
