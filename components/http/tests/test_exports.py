"""``__all__`` lists exactly the public names of each module (as httpx keeps it honest)."""

import importlib

import pytest

import micro_http

MODULES = ["auth", "edge", "hookspecs", "plugins", "render", "resolve", "serve", "settings", "translate"]


@pytest.mark.parametrize("module", ["micro_http", *(f"micro_http.{m}" for m in MODULES)])
def test_all_names_exist(module):
    mod = importlib.import_module(module)
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert not missing


def test_package_exports_are_sorted_and_unique():
    assert list(micro_http.__all__) == sorted(set(micro_http.__all__))
