"""Protobuf against JSON on the same endpoint: one service whose handler takes a protobuf
message, called with ``application/protobuf`` and with ``application/json`` (the
protobuf plugin's JSON transcoding), in the same run.

The message class is generated from ``peers/codec.proto`` by grpcio-tools' protoc into
a temporary directory at the start of the case.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.harness import PEERS, Peer, Result, drive, measure
from benchmarks.rpc import Plan
from micro_core import Options, Service

PROTOBUF = "application/protobuf"
JSON = "application/json"


@contextmanager
def generated() -> Iterator[tuple[Path, ModuleType]]:
    """``codec_pb2`` generated into a temporary directory: the directory and the module."""
    from grpc_tools import protoc  # type: ignore[import-untyped]

    with tempfile.TemporaryDirectory(prefix="bench-codec-") as out:
        status = protoc.main(["protoc", f"-I{PEERS}", f"--python_out={out}", str(PEERS / "codec.proto")])
        if status != 0:
            raise RuntimeError(f"protoc failed on {PEERS / 'codec.proto'} ({status})")
        sys.path.insert(0, out)
        try:
            yield Path(out), importlib.import_module("codec_pb2")
        finally:
            sys.path.remove(out)
            sys.modules.pop("codec_pb2", None)


def message(pb: ModuleType, size: int) -> Any:
    """A Payload whose protobuf encoding is about ``size`` bytes."""
    return pb.Payload(data="x" * max(0, size - 40), id=123456789, tags=["alpha", "beta", "gamma"], score=0.5)


async def _case(
    client: Service, pb: ModuleType, content_type: str, size: int, concurrency: int, plan: Plan
) -> Result:
    request = message(pb, size)

    async def call() -> None:
        await client.client.call(
            "bench-codec", "Echo.Echo", request, response_type=pb.Payload, content_type=content_type
        )

    done, seconds, latencies = await drive(call, concurrency, plan.calls, plan.max_seconds)
    name = f"micro http, {content_type}"
    return measure("codec", name, done, seconds, latencies, payload=size, concurrency=concurrency)


async def bench_codecs(plan: Plan) -> list[Result]:
    """For each payload and concurrency: JSON, then protobuf (ratio to JSON), on the same service."""
    results: list[Result] = []
    with generated() as (out, pb), tempfile.TemporaryDirectory() as registry:
        env = {"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": registry, "PYTHONPATH": str(out)}
        with Peer([str(PEERS / "codec_echo.py")], env=env):
            client = Service("bench-codec-client", options=Options(environ=env))
            await client.connect()
            try:
                for size in plan.payloads:
                    for concurrency in plan.concurrency:
                        json = await _case(client, pb, JSON, size, concurrency, plan)
                        protobuf = await _case(client, pb, PROTOBUF, size, concurrency, plan)
                        protobuf.ratios[json.name] = protobuf.rate / json.rate if json.rate else 0.0
                        results += [json, protobuf]
            finally:
                await client.close()
    return results
