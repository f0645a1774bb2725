"""A stock grpcio server (no micro at all) for helloworld.Greeter on 127.0.0.1:PORT."""

import asyncio
import sys

import grpc
import helloworld_pb2 as pb
import helloworld_pb2_grpc as pb_grpc


class Greeter(pb_grpc.GreeterServicer):
    async def SayHello(self, request: pb.HelloRequest, context: grpc.aio.ServicerContext) -> pb.HelloReply:
        return pb.HelloReply(message=f"Hello {request.name} from stock gRPC")


async def main(port: int) -> None:
    server = grpc.aio.server()
    pb_grpc.add_GreeterServicer_to_server(Greeter(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("serving on", port, flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
