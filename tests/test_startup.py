"""Start-up stays cheap: autoloading every installed plugin imports no backend library."""

import json
import subprocess
import sys

HEAVY = ["aiohttp", "consul", "zeroconf", "pika", "kafka", "grpc", "google.protobuf"]

PROBE = f"""
import json, sys
from micro_core import Plugins
plugins = Plugins()
print(json.dumps({{"loaded": [m for m in {HEAVY!r} if m in sys.modules], "failures": plugins.failures}}))
"""


def test_autoloading_plugins_imports_no_backend_library():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    seen = json.loads(result.stdout)
    assert seen["failures"] == {}
    assert seen["loaded"] == [], f"a micro.plugins module imports its backend at start-up: {seen['loaded']}"
