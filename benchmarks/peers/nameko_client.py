"""Drive nameko's RPC with N green threads; prints one JSON line of results.

``python nameko_client.py AMQP_URI CONCURRENCY CALLS PAYLOAD_BYTES``, run in nameko's venv.
"""

import eventlet

eventlet.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402


def main() -> None:
    uri, concurrency, calls, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    data = "x" * max(size - 11, 1)
    latencies = []
    with ClusterRpcProxy({"AMQP_URI": uri}) as cluster:
        cluster.bench_echo.echo(data)  # warm up

        def worker(count):
            for _ in range(count):
                began = time.perf_counter()
                cluster.bench_echo.echo(data)
                latencies.append(time.perf_counter() - began)

        pool = eventlet.GreenPool(concurrency)
        began = time.perf_counter()
        for share in [calls // concurrency] * concurrency:
            pool.spawn(worker, share)
        pool.waitall()
        elapsed = time.perf_counter() - began
    print(json.dumps({"calls": len(latencies), "seconds": elapsed, "latencies": latencies}))


if __name__ == "__main__":
    main()
