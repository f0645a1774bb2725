"""``micro services``, ``describe``, ``register``, ``deregister``, and the errors of discovery."""

from __future__ import annotations

import json
from pathlib import Path

LEGACY = {
    "name": "legacy",
    "version": "0.9",
    "endpoints": [{"name": "Legacy.Get", "request": {"name": "Req", "type": "Req"}}],
    "nodes": [{"id": "legacy-1", "address": "127.0.0.1:1", "metadata": {"zone": "a"}}],
}


def test_services_lists_running_services_as_json_lines_when_piped(micro, shop):
    result = micro("services")
    assert result.code == 0, result
    assert {"name": "shop", "version": "1.2.0"} in result.lines()


def test_services_as_a_table(micro, shop):
    result = micro("services", "--output", "table")
    assert result.code == 0, result
    header, *rows = result.out.splitlines()
    assert header.split() == ["NAME", "VERSION"]
    assert ["shop", "1.2.0"] in [row.split() for row in rows]


def test_describe_shows_versions_nodes_and_endpoint_shapes(micro, shop):
    [entry] = micro("describe", "shop").json()
    assert entry["version"] == "1.2.0"
    [node] = entry["nodes"]
    assert node["address"].startswith("127.0.0.1:") and node["metadata"]["team"] == "tills"
    buy = next(e for e in entry["endpoints"] if e["name"] == "Shop.Buy")
    assert [v["name"] for v in buy["request"]["values"]] == ["item", "quantity"]

    text = micro("describe", "shop", "-o", "table").out
    assert (
        "Shop.Buy(Order{item string, quantity int64}) -> Receipt{item string, quantity int64, clerk string}"
        in text
    )
    assert node["address"] in text


def test_register_and_deregister_a_definition(micro, tmp_path: Path):
    definition = tmp_path / "legacy.json"
    definition.write_text(json.dumps(LEGACY))
    assert micro("register", "-d", f"@{definition}").code == 0
    [entry] = micro("describe", "legacy").json()
    assert entry["nodes"][0]["id"] == "legacy-1"

    result = micro("deregister", input=json.dumps(LEGACY))
    assert result.code == 0, result
    assert micro("describe", "legacy").code == 3


def test_unknown_service_is_one_line_and_exit_3(micro):
    result = micro("describe", "nosuch")
    assert result.code == 3
    assert len(result.err.splitlines()) == 1 and "nosuch" in result.err


def test_a_bad_definition_is_refused(micro):
    for bad, words in [("{not json", "bad JSON"), ('{"version": "1"}', "not a service definition")]:
        result = micro("register", bad)
        assert result.code == 2, result
        assert words in result.err and len(result.err.splitlines()) == 1


def test_an_unreachable_registry_names_the_address(micro, tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    address = str(blocker / "registry")
    result = micro("--registry-address", address, "services")
    assert result.code == 6, result
    assert address in result.err and len(result.err.splitlines()) == 1 and "Traceback" not in result.err


def test_a_plugin_that_is_not_installed_gives_the_pip_line(micro):
    result = micro("--registry", "etcd", "services")
    assert result.code == 5
    # (the last line: a broken plugin another test installs may add a warning above it)
    assert result.err.strip().splitlines()[-1] == (
        "micro: error: registry 'etcd' is not installed: pip install micro-registry-etcd"
    )


def test_debug_shows_the_traceback(micro):
    result = micro("--debug", "--registry", "etcd", "services")
    assert result.code != 0 and "Traceback" in result.err


def test_an_invalid_option_value_is_bad_input(micro):
    result = micro("--register-ttl", "soon", "register", json.dumps(LEGACY))
    assert result.code == 2 and "--register-ttl 'soon'" in result.err
