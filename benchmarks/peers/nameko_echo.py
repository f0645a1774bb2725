"""nameko's RPC over RabbitMQ, the Python peer framework; run by ``nameko run`` in its own venv."""

from nameko.rpc import rpc


class Echo:
    name = "bench_echo"

    @rpc
    def echo(self, data):
        return data
