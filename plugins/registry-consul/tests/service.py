"""A micro service in a process of its own, for the cross-process tests.

It reads its backends from ``MICRO_*`` variables like any service, so with
``MICRO_REGISTRY=consul`` it registers through this plugin and renews every
``MICRO_REGISTER_INTERVAL`` seconds until it is stopped (or killed).
"""

import sys

from micro_core.service import Service

if __name__ == "__main__":
    Service(sys.argv[1], "1.0", metadata={"role": "test"}).run()
