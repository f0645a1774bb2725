"""The public API is what ``__all__`` says, and installing micro-bot costs other test runs nothing."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PUBLIC = [
    "micro_bot",
    "micro_bot.commands",
    "micro_bot.inputs",
    "micro_bot.testing",
    "micro_bot.testing.conformance",
    "micro_bot.formatting",
    "micro_bot.settings",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_every_exported_name_exists(name):
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__, key=lambda n: (not n.isupper(), n))
    for exported in module.__all__:
        assert getattr(module, exported) is not None, f"{name}.{exported}"


def test_the_pytest_plugin_imports_nothing_of_the_bot():
    loaded = "sorted(m for m in sys.modules if m.startswith('micro_bot.'))"
    probe = f"import sys, micro_bot.testing.plugin; print({loaded})"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "['micro_bot.testing', 'micro_bot.testing.plugin']", done.stderr
