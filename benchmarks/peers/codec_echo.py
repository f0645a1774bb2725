"""A micro service echoing a protobuf message, reachable as protobuf and as JSON on one endpoint.

Needs ``codec_pb2`` (generated from codec.proto) on PYTHONPATH; backends from MICRO_*.
"""

from __future__ import annotations

import codec_pb2 as pb  # type: ignore[import-not-found]

from micro_core import Service


class Echo:
    async def echo(self, request: pb.Payload) -> pb.Payload:
        return request


if __name__ == "__main__":
    Service("bench-codec", handlers=[Echo()]).run()
