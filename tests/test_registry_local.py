"""The local registry: the conformance suite, real processes sharing a directory, and bad files."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import sys
import tempfile
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from micro_core.registry import EventType, Node, Registry, RegistryUnavailable, Service, ServiceNotFound
from micro_core.registry.local import LocalRegistry, default_directory
from micro_core.testing.conformance.registry import RegistryConformance, RegistryFactory

TTL = 1.5
PATIENCE = 15.0


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "registry"


class TestLocalRegistry(RegistryConformance):
    @pytest.fixture
    def registry_factory(self, directory: Path) -> RegistryFactory:
        async def new() -> Registry:
            registry = LocalRegistry(str(directory), poll_interval=0.05)
            await registry.connect()
            return registry

        return new


@pytest.fixture
async def registry(directory: Path) -> AsyncIterator[LocalRegistry]:
    registry = LocalRegistry(str(directory), poll_interval=0.05)
    await registry.connect()
    yield registry
    await registry.close()


def greeter(node_id: str = "greeter-1") -> Service:
    return Service("greeter", "1.0", nodes=[Node(node_id, "127.0.0.1:9001")])


# --- where it lives ---------------------------------------------------------------------------


async def test_directory_is_private_to_the_user(registry: LocalRegistry, directory: Path) -> None:
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_default_directory_is_under_xdg_runtime_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert LocalRegistry().address == str(tmp_path / "micro" / "registry")


def test_default_directory_without_xdg_is_per_user_under_tempdir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert default_directory() == tmp_path / f"micro-{os.getuid()}" / "registry"


async def test_an_unusable_directory_is_registry_unavailable_naming_it(tmp_path: Path) -> None:
    occupied = tmp_path / "a-file"
    occupied.write_text("not a directory")
    with pytest.raises(RegistryUnavailable, match="a-file"):
        await LocalRegistry(str(occupied)).connect()


async def test_odd_names_stay_inside_the_directory_and_round_trip(
    registry: LocalRegistry, directory: Path
) -> None:
    odd = Service("../a/b:c", nodes=[Node("../../x", "127.0.0.1:1"), Node(".", "127.0.0.1:2")])
    await registry.register(odd)

    assert await registry.get_service("../a/b:c") == [odd]
    assert [p.parent.parent for p in directory.rglob("*.json")] == [directory, directory]


async def test_one_file_per_node_and_none_left_after_deregister(
    registry: LocalRegistry, directory: Path
) -> None:
    await registry.register(Service("greeter", nodes=[Node("a", "127.0.0.1:1"), Node("b", "127.0.0.1:2")]))
    assert sorted(p.name for p in directory.rglob("*")) == ["a.json", "b.json", "greeter"]

    await registry.deregister(Service("greeter", nodes=[Node("a", ""), Node("b", "")]))
    assert list(directory.iterdir()) == []


# --- bad files --------------------------------------------------------------------------------


async def test_malformed_and_foreign_files_are_skipped_with_one_warning_each(
    registry: LocalRegistry, directory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await registry.register(greeter())
    bad = directory / "greeter"
    (bad / "truncated.json").write_text('{"service": {"name": "gree')
    (bad / "foreign.json").write_text('{"hello": "world"}')
    (bad / "impostor.json").write_text(
        '{"service": {"name": "billing", "nodes": [{"id": "impostor", "address": "x:1"}]}, "expires": 1e12}'
    )
    (bad / "notes.txt").write_text("ignored: not an entry")
    (directory / "stray.json").write_text("ignored: not in a service directory")
    watcher = registry.watch()
    try:
        with caplog.at_level(logging.WARNING, logger="micro_core.registry.local"):
            for _ in range(3):
                assert await registry.get_service("greeter") == [greeter()]
                assert [(s.name, s.version) for s in await registry.list_services()] == [("greeter", "1.0")]

            await registry.register(greeter("greeter-2"))
            async with asyncio.timeout(PATIENCE):
                event = await anext(watcher)
            assert (event.type, event.service.nodes[0].id) == (EventType.CREATE, "greeter-2")
    finally:
        await watcher.close()

    warned = sorted(Path(r.args[0]).name for r in caplog.records)  # type: ignore[index,arg-type]
    assert warned == ["foreign.json", "impostor.json", "truncated.json"]


async def test_expired_files_are_removed_by_readers(registry: LocalRegistry, directory: Path) -> None:
    await registry.register(greeter(), ttl=0.2)
    await asyncio.sleep(0.5)
    with pytest.raises(ServiceNotFound):
        await registry.get_service("greeter")
    assert not list(directory.rglob("*.json"))


async def test_temporary_files_of_a_writer_killed_mid_write_are_removed_by_readers(
    registry: LocalRegistry, directory: Path
) -> None:
    await registry.register(greeter())
    service_dir = next(directory.iterdir())
    stale, fresh = service_dir / ".tmp-killed", service_dir / ".tmp-writing"
    stale.write_bytes(b'{"service": {"na')
    fresh.write_bytes(b'{"service": {"na')
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    [service] = await registry.get_service("greeter")
    assert [node.id for node in service.nodes] == ["greeter-1"]
    assert not stale.exists()
    assert fresh.exists()  # a write in progress is left alone


# --- real processes ---------------------------------------------------------------------------

DISCOVER = textwrap.dedent(
    """
    import asyncio, sys
    from micro_core.registry import Node, Service, ServiceNotFound
    from micro_core.registry.local import LocalRegistry

    async def main(directory, me, other):
        registry = LocalRegistry(directory)
        await registry.connect()
        await registry.register(Service(me, nodes=[Node(me + "-node", "127.0.0.1:1")]), ttl=30)
        for _ in range(600):  # a minute at most
            try:
                found = await registry.get_service(other)
            except ServiceNotFound:
                await asyncio.sleep(0.1)
                continue
            print(found[0].nodes[0].id)
            return
        sys.exit(f"{me} never found {other}")

    asyncio.run(main(*sys.argv[1:]))
    """
)

RENEW_UNTIL_KILLED = textwrap.dedent(
    """
    import asyncio, sys
    from micro_core.registry import Node, Service
    from micro_core.registry.local import LocalRegistry

    async def main(directory, ttl):
        registry = LocalRegistry(directory)
        await registry.connect()
        doomed = Service("doomed", nodes=[Node("doomed-1", "127.0.0.1:1")])
        for beat in range(600):  # renews for a minute at most
            await registry.register(doomed, ttl=float(ttl))
            if beat == 0:
                print("registered", flush=True)
            await asyncio.sleep(float(ttl) / 5)

    asyncio.run(main(*sys.argv[1:]))
    """
)


async def run_python(code: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def test_two_processes_register_and_discover_each_other(directory: Path) -> None:
    alice = await run_python(DISCOVER, str(directory), "alice", "bob")
    bob = await run_python(DISCOVER, str(directory), "bob", "alice")
    try:
        async with asyncio.timeout(90):
            (alice_out, alice_err), (bob_out, bob_err) = await asyncio.gather(
                alice.communicate(), bob.communicate()
            )
    finally:
        for process in (alice, bob):
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert (alice.returncode, bob.returncode) == (0, 0), (alice_err, bob_err)
    assert (alice_out.decode().strip(), bob_out.decode().strip()) == ("bob-node", "alice-node")


async def test_a_process_killed_with_sigkill_disappears_within_its_ttl(
    registry: LocalRegistry,
) -> None:
    doomed = await run_python(RENEW_UNTIL_KILLED, registry.address, str(TTL))
    try:
        assert doomed.stdout is not None
        async with asyncio.timeout(60):
            assert await doomed.stdout.readline() == b"registered\n"
        await asyncio.sleep(2 * TTL)  # renewals keep it alive past its ttl
        assert [n.id for s in await registry.get_service("doomed") for n in s.nodes] == ["doomed-1"]

        watcher = registry.watch("doomed")
        doomed.kill()
        await doomed.wait()
        async with asyncio.timeout(TTL + PATIENCE):
            event = await anext(watcher)
        await watcher.close()
    finally:
        if doomed.returncode is None:
            doomed.kill()
            await doomed.wait()
    assert (event.type, event.service.nodes[0].id, event.expired) == (EventType.DELETE, "doomed-1", True)
    with pytest.raises(ServiceNotFound):
        await registry.get_service("doomed")


async def test_a_watch_tells_expired_from_deregistered_whoever_removed_the_file(directory: Path) -> None:
    """A reader elsewhere removes an expired file before the watch looks: still an expiry."""
    watching = LocalRegistry(str(directory), poll_interval=1.0)  # looks late on purpose
    elsewhere = LocalRegistry(str(directory))
    await elsewhere.register(greeter("crashed"), ttl=0.3)
    await elsewhere.register(greeter("stopped"), ttl=30)
    watcher = watching.watch("greeter")  # sees both, then looks again a second later
    try:
        await asyncio.sleep(0.5)
        assert [n.id for s in await elsewhere.get_service("greeter") for n in s.nodes] == ["stopped"]
        assert not (directory / "greeter" / "crashed.json").exists(), "that reader removed it"
        await elsewhere.deregister(greeter("stopped"))
        async with asyncio.timeout(PATIENCE):
            events = [await anext(watcher) for _ in range(2)]
    finally:
        await watching.close()
    assert {(e.type, e.service.nodes[0].id, e.expired) for e in events} == {
        (EventType.DELETE, "crashed", True),
        (EventType.DELETE, "stopped", False),
    }


CHURN = textwrap.dedent(
    """
    import asyncio, sys
    from micro_core.registry import Node, Service
    from micro_core.registry.local import LocalRegistry

    async def main(directory, me):
        registry = LocalRegistry(directory)
        for round in range(30):
            nodes = [Node(f"{me}-{i}", "127.0.0.1:1", {"round": str(round)}) for i in range(5)]
            await registry.register(Service("busy", nodes=nodes), ttl=60)

    asyncio.run(main(*sys.argv[1:]))
    """
)


async def test_processes_writing_at_once_never_show_a_reader_half_a_file(
    registry: LocalRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    writers = [await run_python(CHURN, registry.address, f"w{i}") for i in range(3)]
    try:
        async with asyncio.timeout(90):
            while any(w.returncode is None for w in writers):
                with contextlib.suppress(ServiceNotFound):
                    await registry.get_service("busy")
                await asyncio.sleep(0.01)
            results = [await w.communicate() for w in writers]
    finally:
        for writer in writers:
            if writer.returncode is None:
                writer.kill()
                await writer.wait()
    assert [w.returncode for w in writers] == [0, 0, 0], results
    (busy,) = await registry.get_service("busy")
    assert len(busy.nodes) == 15
    assert {node.metadata["round"] for node in busy.nodes} == {"29"}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_only_regular_files_of_bounded_size_are_read_and_garbage_is_reported_once_then_removed(
    registry: LocalRegistry, directory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A FIFO named *.json would block every reader's event loop; a link to a device, worse."""
    await registry.register(greeter())
    service_dir = directory / "greeter"
    fifo = service_dir / "fifo.json"
    os.mkfifo(fifo)
    (service_dir / "device.json").symlink_to("/dev/null")
    (service_dir / "huge.json").write_bytes(b" " * (2 << 20))
    (service_dir / "truncated.json").write_text('{"service": {"name": "gree')

    def read_twice() -> list[list[Service]]:
        async def main() -> list[list[Service]]:
            reader = LocalRegistry(str(directory))
            return [await reader.get_service("greeter") for _ in range(2)]

        return asyncio.run(main())

    reading = asyncio.create_task(asyncio.to_thread(read_twice))  # blocked on the FIFO: the test fails
    try:
        with caplog.at_level(logging.WARNING, logger="micro_core.registry.local"):
            assert await asyncio.wait_for(asyncio.shield(reading), 5) == [[greeter()], [greeter()]]
    finally:
        if not reading.done():  # release the blocked reader: open the FIFO's other end
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            await reading

    warned = sorted(Path(r.args[0]).name for r in caplog.records)  # type: ignore[index,arg-type]
    assert warned == ["device.json", "fifo.json", "huge.json", "truncated.json"]
    assert sorted(p.name for p in service_dir.iterdir()) == ["greeter-1.json"]
    assert Path("/dev/null").exists()  # the link went, not what it pointed to
