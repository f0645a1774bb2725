"""``micro --proxy URL``: the main cases of the CLI through a ``micro sidecar``, with no registry access.

The sidecar runs on the test's registry; the CLI is given a registry whose driver is
not even installed here (etcd), so every command that works here went through the
sidecar.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from micro_cli.failures import (
    BAD_INPUT,
    NOT_FOUND,
    PLUGIN_MISSING,
    REGISTRY_UNREACHABLE,
    REMOTE_ERROR,
)
from micro_core import Options, Service
from micro_core.testing.helpers import EventRecorder
from micro_core.testing.processes import free_port, wait_until

LEGACY = {
    "name": "legacy",
    "version": "0.9",
    "nodes": [{"id": "legacy-1", "address": "127.0.0.1:1", "metadata": {"zone": "a"}}],
}


@pytest.fixture
def sidecar(spawn) -> str:
    """A sidecar (no app beside it) on the test's registry: its URL."""
    port = free_port()
    spawn(MICRO, "sidecar", "--address", f"127.0.0.1:{port}", ready="serving on")
    return f"http://127.0.0.1:{port}"


#: A registry this machine cannot use: its plugin is not installed.
NO_REGISTRY = {"MICRO_REGISTRY": "etcd"}


@pytest.fixture
def proxied(micro, sidecar) -> Callable[..., object]:
    """``proxied(*args)``: ``micro --proxy SIDECAR *args`` on a machine that cannot reach the registry."""

    def run(*args: str, **kwargs: object) -> object:
        return micro("--proxy", sidecar, *args, env=NO_REGISTRY, **kwargs)

    return run


MICRO = str(Path(sys.executable).parent / "micro")


def test_without_the_proxy_this_machine_reaches_no_registry(micro):
    result = micro("services", env=NO_REGISTRY)
    assert result.code == PLUGIN_MISSING, result


def test_services_and_describe_through_the_sidecar(proxied, shop):
    services = proxied("services")
    assert services.code == 0, services
    assert {"name": "shop", "version": "1.2.0"} in services.lines()
    assert ["shop", "1.2.0"] in [row.split() for row in proxied("services", "-o", "table").out.splitlines()]

    [entry] = proxied("describe", "shop").json()
    assert entry["version"] == "1.2.0" and entry["nodes"][0]["metadata"]["team"] == "tills"
    text = proxied("describe", "shop", "-o", "table").out
    assert "Shop.Buy(Order{item string, quantity int64})" in text


def test_a_local_registry_directory_this_machine_lacks_is_no_matter_through_the_sidecar(
    micro, sidecar, shop, tmp_path: Path
):
    """The sidecar reads the registry: the CLI's own registry settings are not checked."""
    missing = {"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": str(tmp_path / "no-such-directory")}
    services = micro("--proxy", sidecar, "services", env=missing)
    assert services.code == 0, services
    assert {"name": "shop", "version": "1.2.0"} in services.lines()
    assert not (tmp_path / "no-such-directory").exists()


def test_call_through_the_sidecar(proxied, shop, tmp_path: Path):
    result = proxied("call", "shop", "Shop.Buy", '{"item": "tea", "quantity": 2}', "--metadata", "Clerk=ann")
    assert result.code == 0, result
    assert result.json() == {"item": "tea", "quantity": 2, "clerk": "ann"}
    order = tmp_path / "order.json"
    order.write_text('{"item": "jam"}')
    assert proxied("call", "shop", "Shop.Buy", "-d", f"@{order}").json()["item"] == "jam"
    assert proxied("call", "shop", "Shop.Buy", input='{"item": "pie"}').json()["item"] == "pie"


def test_a_node_by_address_and_a_version_through_the_sidecar(proxied, shop):
    [entry] = proxied("describe", "shop").json()
    address = entry["nodes"][0]["address"]
    assert proxied("call", "shop", "Shop.Buy", '{"item": "a"}', "--address", address).code == 0
    assert proxied("call", "shop", "Shop.Buy", '{"item": "a"}', "--version", "1.2.0").code == 0
    wrong = proxied("call", "shop", "Shop.Buy", '{"item": "a"}', "--version", "9.9")
    assert wrong.code == NOT_FOUND and "9.9" in wrong.err, wrong


def test_errors_through_the_sidecar_are_the_same_one_line_and_exit_code(proxied, shop):
    remote = proxied("call", "shop", "Shop.Buy", '{"item": "tea", "quantity": 0}')
    assert remote.code == REMOTE_ERROR and remote.out == ""
    assert json.loads(remote.err)["detail"] == "cannot buy 0 tea"
    for args, code, words in [
        (("call", "nosuch", "Shop.Buy", "{}"), NOT_FOUND, "nosuch"),
        (("call", "shop", "Shop.Nope", "{}"), NOT_FOUND, "Shop.Nope"),
        (("call", "shop", "Shop.Buy", "{bad"), BAD_INPUT, "bad JSON"),
        (("describe", "nosuch"), NOT_FOUND, "nosuch"),
    ]:
        result = proxied(*args)
        assert result.code == code, (args, result)
        assert words in result.err and len(result.err.splitlines()) == 1, (args, result)


def test_publish_through_the_sidecar_reaches_a_service_subscriber(proxied, spawn, apps, tmp_path: Path):
    events = tmp_path / "events.txt"
    spawn(sys.executable, str(apps / "shop.py"), env={"SHOP_EVENTS_FILE": str(events)})
    result = proxied("publish", "orders", '{"item": "tea", "quantity": 3}')
    assert result.code == 0, result
    wait_until(lambda: events.exists() and "tea 3" in events.read_text(), 20, "the event")


async def test_publish_metadata_through_the_sidecar(proxied, micro_env):
    listener = Service("listener", options=Options(environ=micro_env))
    await listener.connect()
    try:
        heard = await EventRecorder.subscribe(listener.broker, "orders")
        result = await asyncio.to_thread(proxied, "publish", "orders", '{"item": "tea"}', "-m", "Clerk=ann")
        assert result.code == 0, result
        [event] = await heard.wait(1, timeout=20)
        assert event.message.header["Clerk"] == "ann" and json.loads(event.message.body) == {"item": "tea"}
        await heard.close()
    finally:
        await listener.close()


def test_register_and_deregister_through_the_sidecar(proxied, micro):
    assert proxied("register", json.dumps(LEGACY)).code == 0
    [entry] = micro("describe", "legacy").json()  # seen directly in the registry
    assert entry["nodes"][0]["id"] == "legacy-1"
    assert proxied("deregister", json.dumps(LEGACY)).code == 0
    assert micro("describe", "legacy").code == NOT_FOUND


def test_health_of_each_node_through_the_sidecar(proxied, shop):
    result = proxied("health", "shop")
    assert result.code == 0, result
    assert [row["status"] for row in result.lines()] == ["ok"]


def test_streams_and_subscriptions_say_they_do_not_go_through_the_proxy(proxied, shop):
    for args in (("stream", "shop", "Shop.Count", '{"to": 2}'), ("subscribe", "orders")):
        result = proxied(*args, timeout=30)
        assert result.code == REMOTE_ERROR, (args, result)
        assert "--proxy" in json.loads(result.err)["detail"], (args, result)


def test_a_sidecar_that_does_not_answer_is_one_line_naming_it(micro):
    url = f"http://127.0.0.1:{free_port()}"
    result = micro("--proxy", url, "services", env=NO_REGISTRY)
    assert result.code == REGISTRY_UNREACHABLE, result
    assert url in result.err and len(result.err.splitlines()) == 1


def test_a_sidecar_with_a_token(micro, spawn, shop):
    port = free_port()
    spawn(
        MICRO, "sidecar", "--address", f"127.0.0.1:{port}", "--auth-token", "cli=s3cret", ready="serving on"
    )
    url = f"http://127.0.0.1:{port}"
    refused = micro("--proxy", url, "services")
    assert refused.code == REMOTE_ERROR and '"code": 401' in refused.err, refused
    allowed = micro("--proxy", url, "--proxy-token", "s3cret", "services")
    assert allowed.code == 0 and {"name": "shop", "version": "1.2.0"} in allowed.lines()
