"""Drive nameko's RPC from N green threads, each with its own proxy; prints one JSON line.

``python nameko_client.py AMQP_URI CONCURRENCY CALLS PAYLOAD_BYTES MAX_SECONDS``, run in
nameko's venv. A nameko proxy is not safe to share between green threads (two would
read its socket at once), so each worker has one, as a nameko application would.
"""

import eventlet

eventlet.monkey_patch()

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from nameko.exceptions import UnknownService  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402

#: Seconds to wait for ``nameko run`` to declare its queue after it connected.
READY_SECONDS = 30


def warm_up(config, data):
    """One call per proxy opens its reply queue; the first also waits for the service."""
    deadline = time.monotonic() + READY_SECONDS
    with ClusterRpcProxy(config) as cluster:
        while True:
            try:
                return cluster.bench_echo.echo(data)
            except UnknownService:
                if time.monotonic() > deadline:
                    raise
                eventlet.sleep(0.1)


def main():
    uri, concurrency, calls, size, max_seconds = sys.argv[1:6]
    concurrency, calls, size, max_seconds = int(concurrency), int(calls), int(size), float(max_seconds)
    config = {"AMQP_URI": uri}
    data = "x" * max(size - len('{"data":""}'), 1)
    warm_up(config, data)
    latencies = []
    remaining = [calls]
    connected = eventlet.semaphore.Semaphore(0)
    start = eventlet.event.Event()

    def worker():
        with ClusterRpcProxy(config) as cluster:
            echo = cluster.bench_echo.echo
            echo(data)
            connected.release()
            stop_at = start.wait()
            while remaining[0] > 0 and time.perf_counter() < stop_at:
                remaining[0] -= 1
                began = time.perf_counter()
                echo(data)
                latencies.append(time.perf_counter() - began)

    pool = eventlet.GreenPool(concurrency)
    for _ in range(concurrency):
        pool.spawn(worker)
    for _ in range(concurrency):
        connected.acquire()
    began = time.perf_counter()
    start.send(began + max_seconds)
    pool.waitall()
    elapsed = time.perf_counter() - began
    print(json.dumps({"calls": len(latencies), "seconds": elapsed, "latencies": latencies}))


if __name__ == "__main__":
    main()
