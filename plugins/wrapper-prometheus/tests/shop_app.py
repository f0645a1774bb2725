"""A service run as a process by the metrics tests: ``python shop_app.py NAME``.

``Shop.Buy`` sells anything but ``"bad"`` (400 Bad Request). Settings come from MICRO_*.
"""

from __future__ import annotations

import sys

from micro_core import Service, errors


class Shop:
    async def buy(self, item: str) -> str:
        if item == "bad":
            raise errors.BadRequest("we do not sell that", id="shop")
        return f"sold {item}"


if __name__ == "__main__":
    Service(sys.argv[1], handlers=[Shop()]).run()
