"""micro and Go Micro v5 over mDNS, run in a network namespace of its own by ``test_gomicro_mdns.py``.

``python gomicro_mdns.py GOMICRO_BINARY WORKDIR`` starts a Go service, a Python service
(``gomicro_greeter.py``) and a Go subscriber, all on mDNS, then does from both sides
what ``test_gomicro.py`` does through Consul, and prints one JSON report. The test
asserts on the report; nothing here decides pass or fail.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from micro_core import Options, Plugins, Service, errors
from micro_core.testing.processes import ServerProcess, wait_until
from micro_registry_mdns import MDNSRegistry

GREETER = Path(__file__).with_name("gomicro_greeter.py")
CALLS, CONCURRENT, DISCOVERIES = 500, 64, 20


class Go:
    def __init__(self, binary: str, work: Path) -> None:
        self.binary, self.work = binary, work
        self.env = {**os.environ, "HOME": str(work / "home")}

    async def run(self, *args: str) -> dict[str, Any]:
        """Run a command to its end (in a thread: this process answers mDNS queries meanwhile)."""
        done = await asyncio.to_thread(
            subprocess.run,
            [self.binary, *args[:1], "-registry", "mdns", *args[1:]],
            capture_output=True, text=True, timeout=120, env=self.env,
        )  # fmt: skip
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            return {"failed": done.stderr[-1500:]}
        return json.loads(lines[-1])

    async def start(self, *args: str, log: str) -> ServerProcess:
        process = ServerProcess(
            [self.binary, *args[:1], "-registry", "mdns", *args[1:]],
            port=0, env=self.env, log_path=self.work / log, ready_text='"ready"', name=f"gomicro {args[0]}",
        )  # fmt: skip
        return await asyncio.to_thread(process.start, 30)


async def python_service(work: Path, name: str, index: int) -> ServerProcess:
    """A node of Python service ``name``; the first one subscribes to ``go.events``."""
    env = {"MICRO_REGISTRY": "mdns", "MICRO_SERVER_ADDRESS": "127.0.0.1:0", "PYTHONUNBUFFERED": "1"}
    if index == 0:
        env["GOMICRO_EVENTS_FILE"] = str(work / "events.jsonl")
    process = ServerProcess(
        [sys.executable, str(GREETER), name],
        port=0, env=env, log_path=work / f"py-{index}.log", ready_text="serving on",
    )  # fmt: skip
    return await asyncio.to_thread(process.start, 30)


async def discoveries(name: str) -> int:
    """How many of ``DISCOVERIES`` fresh registries (fresh caches) find ``name`` on their first look."""
    found = 0
    for _ in range(DISCOVERIES):
        registry = MDNSRegistry()
        await registry.connect()
        try:
            entries = await registry.get_service(name)
            found += bool(entries and entries[0].nodes and entries[0].endpoints)
        except errors.MicroError:
            pass
        finally:
            await registry.close()
    return found


async def scenario(go: Go, work: Path) -> dict[str, Any]:
    report: dict[str, Any] = {}
    started: list[ServerProcess] = []
    settings = {"registry": "mdns", "server_address": "127.0.0.1:0"}
    client = Service("py.client", plugins=Plugins(), options=Options(code=settings, environ={}))
    try:
        started.append(await go.start("serve", "-name", "go.greeter", log="go-0.log"))
        started += [await python_service(work, "py.greeter", 0), await python_service(work, "py.other", 1)]
        report["python_discovers_go"] = await discoveries("go.greeter")
        await client.start()

        # Go client -> Python service
        hello = ["-service", "py.greeter", "-endpoint", "Greeter.Hello", "-body", '{"name": "go"}']
        report["go_to_py_sequential"] = await go.run(
            "call", *hello, "-count", str(CALLS), "-metadata", "Trace-Id=t-1"
        )
        report["go_to_py_concurrent"] = await go.run("call", *hello, "-count", str(4 * CONCURRENT),
                                               "-concurrency", str(CONCURRENT))  # fmt: skip
        report["go_to_py_error"] = await go.run("call", "-service", "py.greeter", "-endpoint", "Greeter.Fail",
                                          "-body", '{"code": 409, "detail": "closed"}')  # fmt: skip

        # Python client -> Go service
        failures, reply = 0, None
        for i in range(CALLS):
            try:
                reply = await client.client.call("go.greeter", "Greeter.Hello", {"name": f"py{i}"},
                                                 metadata={"Trace-Id": "t-2"})  # fmt: skip
            except Exception:
                failures += 1
        report["py_to_go_sequential"] = {"failures": failures, "reply": reply}
        results = await asyncio.gather(
            *(
                client.client.call("go.greeter", "Greeter.Hello", {"name": "c"})
                for _ in range(4 * CONCURRENT)
            ),
            return_exceptions=True,
        )
        report["py_to_go_concurrent"] = {"failures": sum(isinstance(r, BaseException) for r in results)}
        try:
            await client.client.call("go.greeter", "Greeter.Fail", {"code": 409, "detail": "closed"})
        except errors.MicroError as exc:
            report["py_to_go_error"] = {"type": type(exc).__name__, **exc.to_dict()}

        # Listings
        report["go_lists"] = await go.run("list")
        listed = await client.registry.list_services()
        report["python_lists"] = {}
        for entry in listed:
            [full] = await client.registry.get_service(entry.name)
            report["python_lists"][entry.name] = sorted(e.name for e in full.endpoints)

        # Events: Go publish -> Python subscriber; Python publish -> Go subscriber
        await go.run("publish", "-topic", "go.events", "-count", "3")
        events = work / "events.jsonl"
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: events.exists() and len(events.read_text().splitlines()) >= 3, 15, "events")
        lines = events.read_text().splitlines() if events.exists() else []
        report["go_to_py_events"] = [base64.b64decode(json.loads(line)["body"]).decode() for line in lines]
        subscriber = await go.start("subscribe", "-topic", "py.events", log="go-subscribe.log")
        started.append(subscriber)
        await asyncio.sleep(1)  # the subscription's announcement reaches the publisher's cache
        for seq in range(3):
            await client.client.publish("py.events", {"seq": seq})
        log = work / "go-subscribe.log"
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: log.read_text().count('"body"') >= 3, 15, "events in Go")
        report["py_to_go_events"] = [
            json.loads(line)["body"] for line in log.read_text().splitlines() if line.startswith('{"body"')
        ]

        # Fail-over: a second Go node, then the first one killed mid-run
        started.append(await go.start("serve", "-name", "go.greeter", log="go-1.log"))
        for _ in range(50):  # the client's selector learns of the second node from its announcement
            if len((await client.registry.get_service("go.greeter"))[0].nodes) == 2:
                break
        report["failover_nodes"] = len((await client.registry.get_service("go.greeter"))[0].nodes)
        failures = 0
        for i in range(200):
            if i == 50:
                started[0].kill()
            try:
                await client.client.call("go.greeter", "Greeter.Hello", {"name": "f"})
            except Exception as exc:
                failures += 1
                report.setdefault("failover_errors", []).append(str(exc))
        report["failover_failures"] = failures
    finally:
        await client.stop()
        for process in started:
            process.stop()
    return report


async def discovery_only(go: Go, work: Path) -> dict[str, Any]:
    server = await go.start("serve", "-name", "go.greeter", log="go-0.log")
    try:
        return {"python_discovers_go": await discoveries("go.greeter")}
    finally:
        server.stop()


def main() -> None:
    binary, work = sys.argv[1], Path(sys.argv[2])
    (work / "home").mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    run = discovery_only if sys.argv[3:] == ["discovery"] else scenario
    report = asyncio.run(run(Go(binary, work), work))
    report["seconds"] = round(time.monotonic() - began, 1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
