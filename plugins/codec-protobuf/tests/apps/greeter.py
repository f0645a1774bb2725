"""The greeter service, built on the generated GreeterServer; run with the generated
modules on PYTHONPATH and its backends in MICRO_* variables."""

from collections.abc import AsyncIterator

import helloworld_pb2 as pb
from helloworld_micro import GreeterServer, add_greeter_server

from micro_core.service import Service


class Greeter(GreeterServer):
    async def say_hello(self, request: pb.HelloRequest) -> pb.HelloReply:
        greeting = f"Hello {request.name}" + "".join(f" #{tag}" for tag in request.tags)
        return pb.HelloReply(message=greeting.upper() if request.options.shout else greeting)

    async def count(self, request: pb.CountRequest) -> AsyncIterator[pb.Tick]:
        for n in range(1, request.to + 1):
            yield pb.Tick(n=n)


service = Service("helloworld")
add_greeter_server(service, Greeter())

if __name__ == "__main__":
    service.run()
