"""A throwaway single-node Apache Kafka (KRaft) for tests, on loopback and free ports.

The broker's jars come from Maven Central (``scripts/servers/kafka.sh install`` puts
them in ``~/.cache/micro-test-servers/kafka-VERSION/lib``; ``MICRO_KAFKA_LIB`` points
elsewhere). Needs Java 17. The server runs as one process, stopped by PID.
"""

from __future__ import annotations

import base64
import os
import subprocess
import uuid
from pathlib import Path

from micro_broker_kafka._kafka import KafkaAdminClient, KafkaError
from micro_core.testing.processes import ServerProcess, free_port, port_open

KAFKA_VERSION = "3.9.2"

_LOG4J = """\
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
"""


def kafka_lib(version: str = KAFKA_VERSION) -> Path:
    """The directory of the broker's jars; ``FileNotFoundError`` says how to get them."""
    default = Path.home() / ".cache" / "micro-test-servers" / f"kafka-{version}" / "lib"
    lib = Path(os.environ.get("MICRO_KAFKA_LIB", default))
    if not (lib / ".complete").exists():
        raise FileNotFoundError(f"no Kafka {version} jars in {lib}: run scripts/servers/kafka.sh install")
    return lib


def cluster_id() -> str:
    """A KRaft cluster id: a uuid4 in URL-safe base64 without padding, never starting with '-'."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


class KafkaServer:
    """One Kafka node (broker and controller in one process) whose data lives in ``workdir``.

    ``stop()`` and ``start()`` again keep the data and the ports, as a restart would.
    """

    def __init__(self, workdir: Path, *, partitions: int = 2, lib: Path | None = None) -> None:
        self.workdir = workdir
        self.lib = lib or kafka_lib()
        self.port = free_port()
        self.controller_port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.partitions = partitions
        self.process: ServerProcess | None = None
        self._format()

    def _java(self, heap: str, *args: str) -> list[str]:
        log4j = f"-Dlog4j.configuration=file:{self.workdir / 'log4j.properties'}"
        logs = f"-Dkafka.logs.dir={self.workdir / 'logs'}"
        return ["java", f"-Xms{heap}", f"-Xmx{heap}", log4j, logs, "-cp", f"{self.lib}/*", *args]

    def _format(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "log4j.properties").write_text(_LOG4J)
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.address},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.address}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.workdir / "data"),
            "num.partitions": str(self.partitions),
            # Off, so the tests prove the driver creates its topics itself.
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Lets tests use short session timeouts, so a killed member is noticed in seconds.
            "group.min.session.timeout.ms": "1000",
        }
        config = self.workdir / "server.properties"
        config.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))
        subprocess.run(
            self._java("256m", "kafka.tools.StorageTool", "format", "-t", cluster_id(), "-c", str(config)),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def _ready(self) -> bool:
        if not port_open(self.port):
            return False
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.address, request_timeout_ms=2000, bootstrap_timeout_ms=2000
            )
        except KafkaError:
            return False
        try:
            admin.list_topics()
            return True
        except KafkaError:
            return False
        finally:
            admin.close()

    def start(self, timeout: float = 120.0) -> KafkaServer:
        argv = self._java(
            "512m",
            "-XX:+UseG1GC",
            "kafka.Kafka",
            str(self.workdir / "server.properties"),
        )
        self.process = ServerProcess(argv, port=self.port, ready=self._ready, name="kafka")
        self.process.start(timeout)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
