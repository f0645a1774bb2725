"""A service with a health check, run as a process by the CLI tests: ``python pantry.py``.

Its ``database`` check passes while the file ``$PANTRY_DATABASE`` exists, so a test
makes the node unready by deleting the file and ready again by writing it.
"""

from __future__ import annotations

import os

from micro_core import Service


class Pantry:
    async def who(self) -> int:
        return os.getpid()


service = Service("pantry", handlers=[Pantry()])


@service.health.check("database")
def database() -> None:
    if not os.path.exists(os.environ["PANTRY_DATABASE"]):
        raise ConnectionError("database unreachable")


if __name__ == "__main__":
    service.run()
