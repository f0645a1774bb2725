"""The real message servers the benchmarks need, started once per run on loopback and
stopped at its end; a server that is not installed is reported, not faked."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Unavailable(RuntimeError):
    """A server cannot run here; the text says why (and which install script fixes it)."""


@contextmanager
def rabbitmq() -> Iterator[str]:
    """A throwaway RabbitMQ node; yields its ``amqp://`` address."""
    from micro_broker_rabbitmq.testing import RabbitMQServer

    with tempfile.TemporaryDirectory(prefix="bench-rabbitmq-") as workdir:
        try:
            server = RabbitMQServer(Path(workdir)).start()
        except (FileNotFoundError, RuntimeError, TimeoutError) as exc:
            raise Unavailable(f"RabbitMQ: {exc}") from exc
        try:
            yield server.address
        finally:
            server.stop()


@contextmanager
def kafka() -> Iterator[str]:
    """A throwaway single-node Kafka; yields its ``host:port``."""
    try:
        from micro_broker_kafka.testing import KafkaServer
    except ImportError as exc:
        raise Unavailable(f"Kafka: the micro_broker_kafka plugin is not installed ({exc})") from exc
    with tempfile.TemporaryDirectory(prefix="bench-kafka-") as workdir:
        try:
            server = KafkaServer(Path(workdir)).start()
        except (OSError, RuntimeError, TimeoutError, subprocess.SubprocessError) as exc:
            raise Unavailable(f"Kafka: {exc}") from exc
        try:
            yield server.address
        finally:
            server.stop()
