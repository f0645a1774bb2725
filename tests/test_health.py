"""Health checks: Debug.Health reports each one; a failing check takes the node out of selection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from micro_core import Plugins, Service, hookimpl
from micro_core.health import Checks, Kind, summary
from micro_core.options import Options


class Who:
    def __init__(self, name: str) -> None:
        self.name = name

    async def am_i(self) -> str:
        return self.name


class GivesQueueCheck:
    """A plugin that contributes a health check, as a broker plugin would for its connection."""

    @hookimpl
    def micro_health_checks(self, service: Service) -> dict[str, Any]:
        return {"queue": lambda: True}


async def test_checks_report_each_outcome_and_the_overall_status():
    checks = Checks(timeout=0.1)
    database_up = True

    @checks.check("database")
    async def database() -> None:
        if not database_up:
            raise ConnectionError("connection refused")

    checks.add("cache", lambda: False)
    checks.add("event_loop", lambda: asyncio.sleep(0), kind="liveness")

    statuses = await checks.run()
    assert [(s.name, s.kind, s.ok, s.error) for s in statuses] == [
        ("database", "readiness", True, ""),
        ("cache", "readiness", False, "check returned False"),
        ("event_loop", "liveness", True, ""),
    ]
    assert summary(statuses) == (True, False, "not_ready")

    database_up = False
    checks.add("stuck", lambda: asyncio.sleep(1), kind=Kind.LIVENESS)
    statuses = await checks.run()
    assert statuses[0].error == "ConnectionError: connection refused"
    assert statuses[3].error == "no answer within 0.1s"
    assert summary(statuses) == (False, False, "failing")


def test_a_check_registered_twice_or_not_callable_fails_loudly():
    checks = Checks()
    checks.add("database", lambda: None)
    with pytest.raises(ValueError, match="already registered"):
        checks.add("database", lambda: None)
    with pytest.raises(TypeError, match="must be callable"):
        checks.add("queue", "connected")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        checks.add("disk", lambda: None, kind="sometimes")


async def test_a_not_ready_node_is_passed_over_and_returns_when_its_check_passes(micro_service):
    healthy = {"flaky": True}

    def checked(service: Service) -> None:
        service.health.add("downstream", lambda: healthy["flaky"])

    await micro_service(Who("steady"), name="who", health_interval=0.05)
    flaky = await micro_service(Who("flaky"), name="who", setup=checked, health_interval=0.05)
    caller = await micro_service(name="caller")

    async def answers(calls: int = 20) -> set[str]:
        return {await caller.client.call("who", "Who.AmI") for _ in range(calls)}

    assert await answers() == {"steady", "flaky"}
    health = await caller.client.call("who", "Debug.Health", address=flaky.address)
    assert (health["status"], [c["ok"] for c in health["checks"]]) == ("ok", [True])

    healthy["flaky"] = False
    await asyncio.sleep(0.3)  # a check round, the re-registration, the watch event
    assert await answers() == {"steady"}
    health = await caller.client.call("who", "Debug.Health", address=flaky.address)
    assert health == {
        "status": "not_ready",
        "ready": False,
        "checks": [{"name": "downstream", "kind": "readiness", "ok": False, "error": "check returned False",
                    "ms": health["checks"][0]["ms"]}],
    }  # fmt: skip
    assert await flaky.client.call("who", "Who.AmI", address=flaky.address) == "flaky"  # not killed

    healthy["flaky"] = True
    await asyncio.sleep(0.3)
    assert await answers() == {"steady", "flaky"}


async def test_micro_health_checks(micro_settings):
    """A plugin contributes checks to every service; they count like the service's own."""

    class QueueConnected:
        connected = True

        @hookimpl
        def micro_health_checks(self, service: Service) -> dict[str, Any]:
            return {"queue": lambda: self.connected}

    plugin = QueueConnected()
    plugins = Plugins(autoload=False)
    plugins.register(plugin)
    options = Options(code={**micro_settings, "health_interval": 0.05}, environ={})
    async with Service("worker", handlers=[Who("w")], plugins=plugins, options=options) as service:
        plugin.connected = False
        health = await service.client.call("worker", "Debug.Health")
        assert (health["status"], health["checks"][0]["name"]) == ("not_ready", "queue")
        await asyncio.sleep(0.2)
        [entry] = await service.registry.get_service("worker")
        assert entry.nodes[0].metadata["ready"] == "false"


async def test_a_restarted_service_keeps_its_plugins_checks(micro_settings):
    """Stopped and started again, a service runs each plugin's check once, as before."""
    plugins = Plugins(autoload=False)
    plugins.register(GivesQueueCheck())
    service = Service(
        "worker", handlers=[Who("w")], plugins=plugins, options=Options(code=micro_settings, environ={})
    )
    for _ in range(2):
        async with service:
            health = await service.client.call("worker", "Debug.Health")
            assert [check["name"] for check in health["checks"]] == ["queue"]


def test_two_plugins_giving_one_check_name_is_an_error(micro_settings):
    plugins = Plugins(autoload=False)
    plugins.register(GivesQueueCheck())
    plugins.register(GivesQueueCheck())
    service = Service("worker", plugins=plugins, options=Options(code=micro_settings, environ={}))
    with pytest.raises(ValueError, match="two plugins register the health check 'queue'"):
        plugins.health_checks(service)


def test_the_selector_drops_only_nodes_that_say_they_are_not_ready():
    from micro_core.registry import Node
    from micro_core.registry import Service as Entry
    from micro_core.selector.readiness import ready_only

    def node(name: str, **metadata: str) -> Node:
        return Node(id=name, address=f"{name}:1", metadata=metadata)

    services = [
        Entry(name="who", version="1", nodes=[node("a", ready="true"), node("b", ready="false"), node("go")]),
        Entry(name="who", version="2", nodes=[node("c", ready="false")]),
    ]
    assert [[n.id for n in s.nodes] for s in ready_only(services)] == [["a", "go"]]
    ready = [Entry(name="who", version="1", nodes=[node("a"), node("b", ready="true")])]
    assert ready_only(ready) is ready  # the usual case copies nothing
