"""A real Prometheus scrapes two services; its HTTP API shows the calls and errors the test made."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from micro_core import Plugins, Service, errors
from micro_core.options import Options
from micro_core.testing.processes import ServerProcess, free_port, wait_until

APP = Path(__file__).parent / "shop_app.py"


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return json.load(reply) if reply.headers.get_content_type() == "application/json" else reply.read()


class Prometheus:
    """A private Prometheus on loopback scraping ``targets`` every second."""

    def __init__(self, workdir: Path, targets: list[str]) -> None:
        if shutil.which("prometheus") is None:
            raise FileNotFoundError("no prometheus: run scripts/servers/prometheus.sh install")
        self.port = free_port()
        config = workdir / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: micro\n    static_configs: [{{targets: {json.dumps(targets)}}}]\n"
        )
        self.process = ServerProcess(
            [
                "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            port=self.port,
            ready=self._ready,
            log_path=workdir / "prometheus.log",
        )

    def _ready(self) -> bool:
        try:
            return bool(_get(f"http://127.0.0.1:{self.port}/-/ready"))
        except OSError:
            return False

    def query(self, promql: str) -> dict[str, float]:
        """Instant query: each series' labels (sorted, joined) -> value."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        answer = _get(url)
        assert answer["status"] == "success", answer
        return {
            ",".join(f"{k}={v}" for k, v in sorted(row["metric"].items())): float(row["value"][1])
            for row in answer["data"]["result"]
        }

    def scraped(self, target: str) -> bool:
        return list(self.query(f'up{{instance="{target}"}}').values()) == [1.0]


@pytest.fixture
def shops(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Two services as processes, each serving /metrics: name -> metrics address."""
    registry = str(tmp_path / "registry")
    processes, addresses = [], {}
    for name in ("shop", "store"):
        addresses[name] = f"127.0.0.1:{free_port()}"
        env = {
            **os.environ,
            "MICRO_REGISTRY": "local",
            "MICRO_REGISTRY_ADDRESS": registry,
            "MICRO_METRICS_ADDRESS": addresses[name],
            "PYTHONUNBUFFERED": "1",
        }
        process = ServerProcess(
            [sys.executable, str(APP), name], port=0, ready_text="serving on", env=env,
            log_path=tmp_path / f"{name}.log",
        )  # fmt: skip
        processes.append(process.start(timeout=30))
    yield {"registry": registry, **addresses}
    for process in processes:
        process.stop()


def test_prometheus_scrapes_request_rate_and_errors_by_code(shops, tmp_path: Path):
    prometheus = Prometheus(tmp_path, [shops["shop"], shops["store"]])
    with prometheus.process:
        wait_until(
            lambda: prometheus.scraped(shops["shop"]) and prometheus.scraped(shops["store"]), 30, "scrape"
        )

        async def traffic() -> None:
            options = Options(code={"registry": "local", "registry_address": shops["registry"]}, environ={})
            caller = Service("caller", plugins=Plugins(autoload=False), options=options)
            await caller.connect()
            try:
                for round in range(6):  # spread over ~3 s, so the rate has several scrapes to work on
                    for i in range(10):
                        await caller.client.call("shop", "Shop.Buy", f"book-{round}-{i}")
                    await caller.client.call("store", "Shop.Buy", "pen")
                    if round % 2:
                        with pytest.raises(errors.BadRequest):
                            await caller.client.call("shop", "Shop.Buy", "bad")
                    await asyncio.sleep(0.5)
            finally:
                await caller.close()

        asyncio.run(traffic())

        totals = 'sum by (service, code) (micro_server_requests_total{endpoint="Shop.Buy"})'
        expected = {"code=ok,service=shop": 60.0, "code=400,service=shop": 3.0, "code=ok,service=store": 6.0}
        wait_until(lambda: prometheus.query(totals) == expected, 15, f"Prometheus to show {expected}")

        rate = prometheus.query(
            'sum by (service) (rate(micro_server_requests_total{endpoint="Shop.Buy"}[10s]))'
        )
        assert rate["service=shop"] > rate["service=store"] > 0  # shop took ten times the calls
        errors_ = prometheus.query('sum by (service) (micro_server_requests_total{code!="ok"})')
        assert errors_ == {"service=shop": 3.0}
        latency = prometheus.query(
            'sum by (service) (micro_server_request_duration_seconds_count{endpoint="Shop.Buy"})'
        )
        assert latency == {"service=shop": 63.0, "service=store": 6.0}


def test_the_metrics_address_is_in_the_registry(shops):
    async def lookup() -> dict[str, str]:
        options = Options(code={"registry": "local", "registry_address": shops["registry"]}, environ={})
        service = Service("reader", plugins=Plugins(autoload=False), options=options)
        await service.connect()
        try:
            return {name: (await service.registry.get_service(name))[0].nodes[0].metadata["metrics"]
                    for name in ("shop", "store")}  # fmt: skip
        finally:
            await service.close()

    assert asyncio.run(lookup()) == {"shop": shops["shop"], "store": shops["store"]}
