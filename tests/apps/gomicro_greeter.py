"""The Python side of the Go Micro tests, run as its own process: ``python gomicro_greeter.py NAME``.

Its endpoints mirror the Go peer's Greeter (``tests/gomicro``): ``Hello`` greets and
echoes the call's metadata, ``Fail`` raises the error the request asks for, ``Upper``
(protobuf) answers its text in upper case. With ``GOMICRO_EVENTS_FILE`` set it also
subscribes to topic ``go.events`` and writes each message there as one JSON line.
Backends come from the MICRO_* environment.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from dataclasses import dataclass

from google.protobuf.wrappers_pb2 import StringValue

from micro_core import Event, Service, context, errors


@dataclass
class Request:
    name: str = ""
    code: int = 500
    detail: str = ""


@dataclass
class Reply:
    msg: str
    metadata: dict[str, str]


class Greeter:
    async def hello(self, req: Request) -> Reply:
        return Reply(msg=f"hello {req.name} from python", metadata=dict(context.metadata()))

    async def fail(self, req: Request) -> Reply:
        raise errors.from_code(req.code, req.detail)  # no id: the server names itself

    async def upper(self, req: StringValue) -> StringValue:
        """A protobuf endpoint, as the Go peer's Greeter.Upper."""
        return StringValue(value=req.value.upper())


def main() -> None:
    service = Service(sys.argv[1])
    service.handle(Greeter())
    events = os.environ.get("GOMICRO_EVENTS_FILE")
    if events:

        async def record(event: Event) -> None:
            line = {"header": event.message.header, "body": base64.b64encode(event.message.body).decode()}
            with open(events, "a") as out:
                out.write(json.dumps(line) + "\n")

        service.subscribe("go.events", record)
    service.run()


if __name__ == "__main__":
    main()
