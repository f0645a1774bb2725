"""Message counts per topic: published, delivered, redelivered and dead-lettered, read from /metrics."""

from __future__ import annotations

import asyncio
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

import micro_wrapper_prometheus.plugin
from micro_core import Plugins, Service
from micro_core.options import Options

TOPIC = (("topic", "mails.metrics"),)
DEAD = ("micro_messages_dead_lettered_total", TOPIC)


def scrape(address: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_published_delivered_redelivered_and_dead_lettered(micro_settings):
    plugins = Plugins(autoload=False)
    plugins.register(micro_wrapper_prometheus.plugin)
    code = {**micro_settings, "metrics_address": "127.0.0.1:0", "broker_max_redeliveries": 2}
    service = Service("mailer", plugins=plugins, options=Options(code=code, environ={}))
    handled: list[str] = []

    async def send(mail: str) -> None:
        if mail == "poison":
            raise ValueError("cannot send poison")
        handled.append(mail)

    service.subscribe("mails.metrics", send)
    async with service:
        for mail in ("a", "b", "poison"):
            await service.client.publish("mails.metrics", mail)
        async with asyncio.timeout(10):
            while len(handled) < 2 or scrape(service.metadata["metrics"]).get(DEAD) != 1.0:
                await asyncio.sleep(0.05)
        samples = scrape(service.metadata["metrics"])

    assert samples[("micro_messages_published_total", TOPIC)] == 3
    assert samples[("micro_messages_delivered_total", (("outcome", "acked"), *TOPIC))] == 2
    assert samples[("micro_messages_delivered_total", (("outcome", "failed"), *TOPIC))] == 3  # first + 2 more
    assert samples[("micro_messages_redelivered_total", TOPIC)] == 2
    assert samples[DEAD] == 1
