"""The event handler: a POST becomes an event on ``<namespace>.<first segment>``, received by a
real subscriber on the same broker."""

from __future__ import annotations

import json

import aiohttp
import msgspec
import pytest

from micro_api import Event
from micro_core import Service
from micro_core.testing.helpers import EventRecorder

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def subscriber(stack):
    """A service process's view of the broker: subscribed to ``acme.orders``."""
    service = Service("recorder", registry="local", registry_address=stack.env["MICRO_REGISTRY_ADDRESS"])
    await service.connect()
    recorder = await EventRecorder.subscribe(service.broker, "acme.orders")
    yield recorder
    await recorder.close()
    await service.close()


async def test_a_post_is_published_and_answered_202_with_the_event_id(events, subscriber):
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{events.url}/orders/new", json={"sku": "abc"}, headers={"X-Shop": "1"}) as response,
    ):
        assert response.status == 202
        answer = await response.json()
    assert answer["topic"] == "acme.orders"
    [received] = await subscriber.wait(1)
    published = msgspec.json.decode(received.message.body, type=Event)
    assert published.id == answer["id"]
    assert published.name == "acme.orders"
    assert json.loads(published.data) == {"sku": "abc"}
    assert published.header["X-Shop"].values == ["1"]
    assert published.timestamp > 1_700_000_000


async def test_events_take_post_only(events):
    async with aiohttp.ClientSession() as http, http.get(f"{events.url}/orders") as response:
        assert response.status == 405
        assert "POST" in (await response.json())["detail"]
