"""A service run as a separate process by the CLI tests: ``python shop.py [NAME]``.

Unary, failing, server-streaming and bidirectional endpoints, and a subscriber that
appends each event to ``$SHOP_EVENTS_FILE``. Backends come from the MICRO_* environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

from micro_core import Service, context, errors


@dataclass
class Order:
    item: str
    quantity: int = 1


@dataclass
class Receipt:
    item: str
    quantity: int
    clerk: str


@dataclass
class Count:
    to: int


@dataclass
class Tick:
    n: int


class Shop:
    async def buy(self, order: Order) -> Receipt:
        if order.quantity <= 0:
            raise errors.BadRequest(f"cannot buy {order.quantity} {order.item}", id="shop")
        return Receipt(order.item, order.quantity, context.metadata().get("Clerk", "nobody"))

    async def count(self, req: Count) -> AsyncIterator[Tick]:
        for n in range(1, req.to + 1):
            yield Tick(n)

    async def echo(self, orders: AsyncIterator[Order]) -> AsyncIterator[Receipt]:
        async for order in orders:
            yield Receipt(order.item, order.quantity, "echo")


def main() -> None:
    service = Service(
        sys.argv[1] if len(sys.argv) > 1 else "shop", version="1.2.0", metadata={"team": "tills"}
    )
    service.handle(Shop())
    events = os.environ.get("SHOP_EVENTS_FILE")
    if events:

        @service.subscriber("orders")
        async def record(order: Order) -> None:
            with open(events, "a") as out:
                out.write(f"{order.item} {order.quantity}\n")

    service.run()


if __name__ == "__main__":
    main()
