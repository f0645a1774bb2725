"""micro and Go Micro on one Kafka topic: each side's messages reach the other.

The Go side is a real Go Micro program (``tests/gomicro``) built on Go Micro's own
Kafka broker plugin, so these tests hold micro to Go Micro's record format as Go Micro
writes and reads it, not as micro understands it.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from micro_broker_kafka import KafkaBroker
from micro_broker_kafka.testing import KafkaServer
from micro_core.testing import EventRecorder
from micro_core.transport import Message

# The first test also builds the Go peer: ~1 minute on a cold Go cache, seconds after.
pytestmark = pytest.mark.timeout(600)

PEER_SOURCE = Path(__file__).parent / "gomicro"


@pytest.fixture(scope="session")
def go_micro_peer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go Micro peer, built once per session (Go's build cache makes reruns fast)."""
    go = shutil.which("go")
    if go is None:
        pytest.fail("these tests build a Go Micro peer: the go command (Go 1.22+) must be on PATH")
    binary = tmp_path_factory.mktemp("gomicro") / "gomicro"
    built = subprocess.run(
        [go, "build", "-buildvcs=false", "-o", str(binary), "."],
        cwd=PEER_SOURCE,
        capture_output=True,
        text=True,
        timeout=540,
    )
    if built.returncode != 0:
        pytest.fail(f"go build in {PEER_SOURCE} failed:\n{built.stderr}")
    return binary


class GoSubscriber:
    """A running ``gomicro subscribe``: the messages it printed, and its log.

    Go Micro v4's logger prints to stdout whatever its options say, so the lines that
    are not JSON objects are its log (with stderr), kept for failure messages.
    """

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.received: list[dict[str, Any]] = []
        self.log: list[str] = []

    @classmethod
    async def start(cls, peer: Path, address: str, topic: str, queue: str) -> GoSubscriber:
        process = await asyncio.create_subprocess_exec(
            *(str(peer), "subscribe", "-addr", address, "-topic", topic, "-queue", queue),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        subscriber = cls(process)
        if not await subscriber._read_until(lambda: "ready" in subscriber.log, seconds=30):
            await subscriber.stop()
            raise AssertionError(f"the Go subscriber did not get ready: {subscriber.log}")
        return subscriber

    async def receive(self, ids: set[str], seconds: float) -> bool:
        """Keep what arrives until messages with every ``Micro-Id`` in ``ids`` have, or ``seconds`` pass."""
        return await self._read_until(
            lambda: ids <= {message["header"].get("Micro-Id") for message in self.received}, seconds
        )

    async def _read_until(self, done: Callable[[], bool], seconds: float) -> bool:
        assert self.process.stdout is not None
        deadline = asyncio.get_running_loop().time() + seconds
        while not done():
            try:
                line = await asyncio.wait_for(
                    self.process.stdout.readline(), deadline - asyncio.get_running_loop().time()
                )
            except TimeoutError:
                return False
            if not line:
                raise AssertionError(f"the Go subscriber exited with {await self.process.wait()}: {self.log}")
            if line.startswith(b"{"):
                self.received.append(json.loads(line))
            else:
                self.log.append(line.decode(errors="replace").rstrip())
        return True

    async def stop(self) -> None:
        """SIGTERM by PID, then reap it (killed if it does not stop within 10 s)."""
        if self.process.returncode is None:
            self.process.terminate()
        try:
            await asyncio.wait_for(self.process.communicate(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.communicate()


@pytest.fixture
async def go_subscriber(
    go_micro_peer: Path, kafka_server: KafkaServer, broker: KafkaBroker, topic: str
) -> AsyncIterator[GoSubscriber]:
    """A Go Micro subscriber in queue ``go-workers`` on the test's topic."""
    await broker.ensure_topic(topic)  # Go Micro's subscriber does not create it; the server does not either
    subscriber = await GoSubscriber.start(go_micro_peer, kafka_server.address, topic, "go-workers")
    try:
        yield subscriber
    finally:
        await subscriber.stop()


async def test_a_go_micro_publishers_messages_reach_a_micro_subscriber(
    go_micro_peer: Path, kafka_server: KafkaServer, broker: KafkaBroker, topic: str
) -> None:
    recorder = await EventRecorder.subscribe(broker, topic, queue="micro-workers")
    published = await asyncio.to_thread(
        subprocess.run,
        [str(go_micro_peer), "publish", "-addr", kafka_server.address, "-topic", topic, "-count", "3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert published.returncode == 0, published.stderr
    events = await recorder.wait(3, timeout=30)
    # Two partitions: the order across them is not kept.
    received = sorted(((e.message.header, e.message.body) for e in events), key=lambda m: m[0].get("Seq", ""))
    assert received == [({"Seq": str(i), "Micro-Topic": topic}, b'{"seq": %d}' % i) for i in range(3)]


async def test_a_micro_publishers_messages_reach_a_go_micro_subscriber(
    go_subscriber: GoSubscriber, broker: KafkaBroker, topic: str
) -> None:
    # The Go group starts at the newest offset once it has joined, and nothing says when
    # it has: publish rounds of three until one arrives whole (a round published
    # while the group was joining can be partly missed, never garbled).
    sent: dict[str, dict[str, Any]] = {}
    for round_ in range(30):
        for seq in range(3):
            micro_id = f"{round_}-{seq}"
            header = {"Micro-Id": micro_id, "Content-Type": "application/json", "Trace-Id": "t-✓"}
            # The last one is empty: Go Micro would read a null body as the whole record.
            body = json.dumps({"seq": seq, "note": "café"}, ensure_ascii=False) if seq < 2 else ""
            # Go Micro's subscriber adds the topic it read from, as micro's does.
            sent[micro_id] = {"header": header | {"Micro-Topic": topic}, "body": body}
            await broker.publish(topic, Message(header, body.encode()))
        if await go_subscriber.receive({f"{round_}-{seq}" for seq in range(3)}, seconds=2):
            break
    else:
        raise AssertionError(
            f"no round arrived whole in 30: got {go_subscriber.received}, log {go_subscriber.log}"
        )
    for message in go_subscriber.received:
        assert message == sent[message["header"]["Micro-Id"]]
