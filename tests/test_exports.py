"""``__all__`` lists exactly the public names of each public module (as httpx checks its own)."""

import importlib
import inspect

import pytest

PUBLIC = [
    "micro_core",
    "micro_core.registry",
    "micro_core.transport",
    "micro_core.codec",
    "micro_core.broker",
    "micro_core.selector",
    "micro_core.errors",
    "micro_core.context",
    "micro_core.testing",
]


def ours(value: object) -> bool:
    """Defined in micro_core (not imported from the standard library or a dependency)."""
    if inspect.isclass(value) or callable(value):
        return (getattr(value, "__module__", None) or "").startswith("micro_core")
    return type(value).__module__ == "builtins" or type(value).__module__.startswith("micro_core")


@pytest.mark.parametrize("name", PUBLIC)
def test_all_lists_every_public_member_and_only_those(name):
    module = importlib.import_module(name)
    members = vars(module)
    assert set(module.__all__) <= set(members), f"{name}.__all__ names what it lacks"
    public = {
        attr
        for attr, value in members.items()
        if not attr.startswith("_") and not inspect.ismodule(value) and ours(value)
    }
    assert public <= set(module.__all__), (
        f"{name}: public but not in __all__: {sorted(public - set(module.__all__))}"
    )
