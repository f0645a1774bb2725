"""Every hook micro_http declares is documented and has a test of its own, as the kernel's are."""

import inspect
import re
from pathlib import Path

import pytest

from micro_http import hookspecs

HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("micro_"))
TESTS = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))


def test_there_is_an_authentication_hook():
    assert "micro_authenticate" in HOOKS


@pytest.mark.parametrize("name", HOOKS)
def test_hook_is_documented_with_every_parameter(name):
    spec = getattr(hookspecs, name)
    doc = inspect.getdoc(spec) or ""
    assert doc, f"{name} has no docstring"
    undocumented = [p for p in inspect.signature(spec).parameters if not re.search(rf"\b{p}\b", doc)]
    assert not undocumented, f"{name} does not document {undocumented}"


@pytest.mark.parametrize("name", HOOKS)
def test_hook_has_a_test(name):
    assert f"def test_{name}(" in TESTS, f"no test_{name} in components/http/tests/"
