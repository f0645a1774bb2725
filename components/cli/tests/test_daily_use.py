"""The CLI for daily use: help that leads with the commands, every flag by kind, versions,
and a precise message (and exit code) for each everyday mistake."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pexpect

from micro_cli.failures import BAD_INPUT, NOT_FOUND, REGISTRY_UNREACHABLE


def test_help_leads_with_the_commands_and_examples(micro):
    out = micro("--help").out
    assert out.index("Discover:") < out.index("Call:") < out.index("Examples:") < out.index("Options:")
    assert "micro call greeter Greeter.Hello" in out and "shell" in out
    assert "--registry DRIVER" in out and "--registry-address HOST:PORT" in out
    assert "--register-ttl" not in out and "micro options" in out  # the other flags live there


def test_options_lists_every_flag_by_kind_with_a_typed_value(micro):
    out = micro("options", "-o", "table").out
    assert "Registry options:" in out and "Server options:" in out
    for flag in ("--register-ttl SECONDS", "--server-address HOST:PORT", "--client-retries INT"):
        assert flag in out
    registry = micro("options", "registry", "-o", "table").out
    assert "--registry-address" in registry and "--server-address" not in registry
    rows = micro("options", "client").lines()
    assert {
        "flag": "--client-request-timeout",
        "value": "SECONDS",
        "env": "MICRO_CLIENT_REQUEST_TIMEOUT",
    }.items() <= (next(r for r in rows if r["flag"] == "--client-request-timeout").items())
    wrong = micro("options", "nosuch")
    assert wrong.code == BAD_INPUT and "registry" in wrong.err


def test_version_lists_every_installed_micro_distribution(micro):
    lines = micro("--version").out.splitlines()
    assert re.fullmatch(r"micro-kernel \d+\.\d+\.\d+\S*", lines[0])
    assert any(line.startswith("micro-cli ") for line in lines)


def test_services_hides_the_brokers_own_entries_unless_all(micro, spawn, apps, tmp_path: Path):
    spawn(sys.executable, str(apps / "shop.py"), env={"SHOP_EVENTS_FILE": str(tmp_path / "events")})
    deadline = time.monotonic() + 20
    while "micro.http.broker" not in {r["name"] for r in micro("services", "--all").lines()}:
        assert time.monotonic() < deadline, "the subscriber never registered"
        time.sleep(0.2)
    assert [r["name"] for r in micro("services").lines()] == ["shop"]


def test_a_registry_directory_that_does_not_exist_is_an_error_of_its_own(micro, tmp_path: Path):
    missing = tmp_path / "no" / "such" / "registry"
    result = micro("--registry-address", str(missing), "services")
    assert result.code == REGISTRY_UNREACHABLE, result
    assert result.err == f"micro: error: cannot reach the local registry at {missing}: no such directory\n"
    assert not missing.exists()  # reading never creates a registry


def test_call_on_a_stream_endpoint_points_to_micro_stream(micro, shop):
    result = micro("call", "shop", "Shop.Count", '{"to": 2}')
    assert result.code == BAD_INPUT and "micro stream shop Shop.Count" in result.err, result


def test_an_unknown_endpoint_lists_the_endpoints_with_a_did_you_mean(micro, shop):
    result = micro("call", "shop", "Shop.buy", "{}")
    assert result.code == NOT_FOUND, result
    assert "did you mean Shop.Buy?" in result.err
    assert "Shop.Count, Shop.Echo" in result.err and len(result.err.splitlines()) == 1


def test_a_version_that_no_node_has_says_so(micro, shop):
    result = micro("call", "shop", "Shop.Buy", '{"item": "a"}', "--version", "9.9")
    assert result.code == NOT_FOUND
    assert "shop has no node of version 9.9 (its versions: 1.2.0)" in result.err


def test_a_transport_mismatch_with_the_nodes_says_so(micro, shop):
    result = micro("--transport", "memory", "call", "shop", "Shop.Buy", '{"item": "a"}')
    assert result.code == BAD_INPUT
    assert "shop's nodes speak http, not memory: add --transport http" in result.err


def test_the_timeout_must_be_positive(micro, shop):
    for value in ("0", "-1"):
        result = micro("call", "shop", "Shop.Buy", "{}", "--timeout", value)
        assert result.code == BAD_INPUT and "--timeout" in result.err, result


def test_a_remote_error_is_one_readable_line_on_a_terminal(micro_env, shop):
    micro = str(Path(sys.executable).parent / "micro")
    terminal = pexpect.spawn(
        micro, ["call", "shop", "Shop.Buy", '{"item": "tea", "quantity": 0}'], env=micro_env, encoding="utf-8"
    )
    terminal.expect(pexpect.EOF, timeout=30)
    terminal.close()
    assert terminal.before.strip() == "micro: error: shop: 400 Bad Request: cannot buy 0 tea"
    assert terminal.exitstatus == 1


def test_stats_in_human_units_on_a_table_and_raw_in_json(micro, shop):
    table = micro("stats", "shop", "-o", "table").out
    assert re.search(r"\s\d+s\s+\d+\.\d MiB\s", table), table
    [row] = micro("stats", "shop").lines()
    assert isinstance(row["memory"], int) and isinstance(row["uptime"], int)


def test_completion_scripts_and_the_names_they_complete(micro, shop, tmp_path: Path):
    assert "_MICRO_COMPLETE=bash_complete" in micro("completion", "bash").out
    assert "compdef" in micro("completion", "zsh").out
    assert "complete --no-files --command micro" in micro("completion", "fish").out

    def complete(shell: str, words: str, cword: str) -> str:
        env = {"_MICRO_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": cword}
        return micro(env=env).out

    assert complete("bash", "micro call sh", "2").split() == ["plain,shop"]
    assert complete("bash", "micro call shop Shop.", "3").split() == [
        "plain,Shop.Buy",
        "plain,Shop.Count",
        "plain,Shop.Echo",
    ]
    assert complete("zsh", "micro describe sh", "2").split() == ["plain", "shop", "_"]
    assert complete("fish", "micro stream shop Shop.C", "Shop.C").split() == ["plain,Shop.Count"]
    # a registry that cannot be read completes nothing, quietly (and is not created)
    assert complete("bash", f"micro --registry-address {tmp_path}/none call s", "4").strip() == ""
    assert not (tmp_path / "none").exists()
