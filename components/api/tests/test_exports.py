"""``__all__`` lists exactly the public names of each module (as httpx keeps it honest)."""

import importlib

import pytest

MODULES = ["catalogue", "command", "expose", "gateway", "handlers", "openapi", "routes", "types"]


@pytest.mark.parametrize("module", ["micro_api", *(f"micro_api.{m}" for m in MODULES)])
def test_all_names_exist(module):
    mod = importlib.import_module(module)
    assert [name for name in mod.__all__ if not hasattr(mod, name)] == []


def test_importing_the_service_side_does_not_load_the_gateway():
    import subprocess
    import sys

    code = "import sys, micro_api; print('aiohttp' in sys.modules, 'micro_api.gateway' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
