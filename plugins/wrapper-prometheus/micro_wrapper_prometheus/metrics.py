"""The metrics: plain numbers updated on the event loop, made into Prometheus families when scraped.

prometheus_client's metric objects take a lock per update, and a call touches four of
them on each side (in-flight up and down, the histogram, the counter). The numbers
here are updated by one thread, the event loop, without locks; the scrape (in the
``/metrics`` thread) reads them under the GIL and builds the families, so a call costs
a few integer additions. A scrape racing an update may see a call in the counter but
not yet in the histogram; the next scrape agrees.

Names follow Prometheus's conventions (``_total`` counters, ``_seconds`` histograms
with prometheus_client's default buckets). ``code`` is ``ok`` or the micro error code
(``404``, ``503``…), so the error rate is ``rate(micro_server_requests_total{code!="ok"}[1m])``.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from micro_core import errors

#: Upper bounds of the latency buckets, in seconds (prometheus_client's defaults, without +Inf).
BUCKETS = tuple(bound for bound in Histogram.DEFAULT_BUCKETS if bound != float("inf"))
_BOUNDS = (*map(repr, BUCKETS), "+Inf")  # as Prometheus writes them: 0.005 … 10.0, +Inf

_In = TypeVar("_In")
_Out = TypeVar("_Out")


class Requests:
    """The calls of one endpoint, on one side (client or server)."""

    __slots__ = ("buckets", "codes", "in_flight", "seconds")

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.in_flight = 0
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last: slower than every bound
        self.seconds = 0.0

    async def timed(self, call: Callable[[_In], Awaitable[_Out]], request: _In) -> _Out:
        """``call(request)``, counted in flight, then by its outcome and latency."""
        self.in_flight += 1
        started = time.perf_counter()
        code = "ok"
        try:
            return await call(request)
        except BaseException as exc:
            code = str(exc.code) if isinstance(exc, errors.MicroError) else "500"
            raise
        finally:
            self.done(code, time.perf_counter() - started)

    def done(self, code: str, seconds: float) -> None:
        """A call ended after ``seconds`` with ``code``; it is no longer in flight."""
        self.in_flight -= 1
        self.codes[code] = self.codes.get(code, 0) + 1
        self.buckets[bisect_left(BUCKETS, seconds)] += 1  # le is inclusive: the first bound >= seconds
        self.seconds += seconds


class Topic:
    """The messages of one topic, as this process saw them."""

    __slots__ = (
        "acked",
        "dead_lettered",
        "failed",
        "in_flight",
        "publish_errors",
        "published",
        "redelivered",
    )

    def __init__(self) -> None:
        self.published = self.publish_errors = self.acked = self.failed = 0
        self.redelivered = self.dead_lettered = self.in_flight = 0


_TOPIC_COUNTERS = {
    "published": "messages the broker accepted",
    "publish_errors": "publishes the broker refused",
    "redelivered": "deliveries of a message this process failed before",
    "dead_lettered": "messages whose last allowed delivery failed here, so the broker dead-letters them",
}


class Stats(Collector):
    """Every number of this process, and their Prometheus families."""

    def __init__(self) -> None:
        self._sides: dict[str, dict[tuple[str, str], Requests]] = {"client": {}, "server": {}}
        self._topics: dict[str, Topic] = {}

    def requests(self, side: str, service: str, endpoint: str) -> Requests:
        table = self._sides[side]
        found = table.get((service, endpoint))
        if found is None:
            found = table[(service, endpoint)] = Requests()
        return found

    def topic(self, name: str) -> Topic:
        found = self._topics.get(name)
        if found is None:
            found = self._topics[name] = Topic()
        return found

    def collect(self) -> Iterator[Metric]:
        for side, table in self._sides.items():
            yield from self._requests(side, list(table.items()))
        topics = list(self._topics.items())
        for field, help in _TOPIC_COUNTERS.items():
            counter = CounterMetricFamily(f"micro_messages_{field}", help, labels=["topic"])
            for name, topic in topics:
                counter.add_metric([name], getattr(topic, field))
            yield counter
        delivered = CounterMetricFamily(
            "micro_messages_delivered",
            "delivery attempts by outcome (acked, failed)",
            labels=["topic", "outcome"],
        )
        in_flight = GaugeMetricFamily(
            "micro_messages_in_flight", "deliveries being handled", labels=["topic"]
        )
        for name, topic in topics:
            delivered.add_metric([name, "acked"], topic.acked)
            delivered.add_metric([name, "failed"], topic.failed)
            in_flight.add_metric([name], topic.in_flight)
        yield delivered
        yield in_flight

    def _requests(self, side: str, rows: list[tuple[tuple[str, str], Requests]]) -> Iterator[Metric]:
        labels = ["service", "endpoint"]
        who = "calls made, by callee service," if side == "client" else "calls served, by service,"
        counter = CounterMetricFamily(
            f"micro_{side}_requests", f"{who} endpoint and outcome", labels=[*labels, "code"]
        )
        latency = HistogramMetricFamily(
            f"micro_{side}_request_duration_seconds", "call latency", labels=labels
        )
        in_flight = GaugeMetricFamily(
            f"micro_{side}_requests_in_flight", "calls not yet answered", labels=labels
        )
        for key, requests in rows:
            for code, count in list(requests.codes.items()):
                counter.add_metric([*key, code], count)
            cumulative, buckets = 0, []
            for bound, count in zip(_BOUNDS, list(requests.buckets), strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            latency.add_metric(list(key), buckets, requests.seconds)
            in_flight.add_metric(list(key), requests.in_flight)
        yield from (counter, latency, in_flight)


stats = Stats()
REGISTRY.register(stats)

__all__ = ["BUCKETS", "Requests", "Stats", "Topic", "stats"]
