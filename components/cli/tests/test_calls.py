"""``micro call``, ``stream``, ``health`` and ``stats`` against the running shop service."""

from __future__ import annotations

import sys
from pathlib import Path


def test_call_prints_the_answer_as_json(micro, shop):
    result = micro("call", "shop", "Shop.Buy", '{"item": "tea", "quantity": 2}', "--metadata", "Clerk=ann")
    assert result.code == 0, result
    assert result.json() == {"item": "tea", "quantity": 2, "clerk": "ann"}


def test_the_request_comes_from_a_file_or_stdin(micro, shop, tmp_path: Path):
    order = tmp_path / "order.json"
    order.write_text('{"item": "jam"}')
    assert micro("call", "shop", "Shop.Buy", "-d", f"@{order}").json()["item"] == "jam"
    assert micro("call", "shop", "Shop.Buy", input='{"item": "pie"}').json()["item"] == "pie"


def test_call_a_node_by_address_and_a_version(micro, shop):
    [entry] = micro("describe", "shop").json()
    address = entry["nodes"][0]["address"]
    assert micro("call", "shop", "Shop.Buy", '{"item": "a"}', "--address", address).code == 0
    assert micro("call", "shop", "Shop.Buy", '{"item": "a"}', "--version", "1.2.0").code == 0
    assert micro("call", "shop", "Shop.Buy", '{"item": "a"}', "--version", "9.9").code == 3


def test_a_remote_error_goes_to_stderr_as_json_with_exit_1(micro, shop):
    result = micro("call", "shop", "Shop.Buy", '{"item": "tea", "quantity": 0}')
    assert result.code == 1 and result.out == ""
    assert '"code": 400' in result.err and "cannot buy 0 tea" in result.err
    assert len(result.err.splitlines()) == 1


def test_wrong_input_is_one_line_and_a_nonzero_exit(micro, shop):
    for args, code, words in [
        (("call", "nosuch", "Shop.Buy", "{}"), 3, "nosuch"),
        (("call", "shop", "Shop.Nope", "{}"), 3, "Shop.Nope"),
        (("call", "shop", "Shop.Buy", "{bad"), 2, "bad JSON"),
        (("call", "shop", "Shop.Buy", "-d", "@/no/such/file"), 2, "/no/such/file"),
        (("call", "shop", "Shop.Buy", "{}", "-m", "novalue"), 2, "KEY=VALUE"),
    ]:
        result = micro(*args)
        assert result.code == code, (args, result)
        assert words in result.err and len(result.err.splitlines()) == 1, (args, result)


def test_a_call_that_times_out(micro, shop):
    [entry] = micro("describe", "shop").json()
    result = micro("call", "shop", "Shop.Buy", '{"item": "a"}', "--address", "127.0.0.1:9", "--timeout", "1")
    assert result.code == 4 and len(result.err.splitlines()) == 1, result
    assert entry  # the shop itself was there all along


def test_stream_from_a_server_streaming_endpoint(micro, shop):
    result = micro("stream", "shop", "Shop.Count", '{"to": 3}')
    assert result.code == 0, result
    assert result.lines() == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_stream_sends_stdin_lines_and_prints_each_reply(micro, shop):
    result = micro("stream", "shop", "Shop.Echo", input='{"item": "a"}\n\n{"item": "b", "quantity": 2}\n')
    assert result.code == 0, result
    assert [(r["item"], r["quantity"]) for r in result.lines()] == [("a", 1), ("b", 2)]


def test_stream_with_a_bad_line_stops_with_one_line(micro, shop):
    result = micro("stream", "shop", "Shop.Echo", input='{"item": "a"}\nnot json\n')
    assert result.code == 2 and "stdin line 2" in result.err, result


def test_health_and_stats_one_line_per_node(micro, shop, spawn, apps):
    spawn(sys.executable, str(apps / "shop.py"))
    health = micro("health", "shop")
    assert health.code == 0, health
    assert sorted(row["status"] for row in health.lines()) == ["ok", "ok"]
    stats = micro("stats", "shop", "-o", "table")
    assert stats.code == 0, stats
    header, *rows = stats.out.splitlines()
    assert header.split()[:3] == ["NODE", "ADDRESS", "UPTIME"] and len(rows) == 2


def test_health_of_a_dead_node_fails(micro):
    # The entry outlives the suite's short TTL: a loaded machine may take longer than that
    # between the two commands, and the test is about the dead node, not the expiry.
    ghost = '{"name": "ghost", "nodes": [{"id": "ghost-1", "address": "127.0.0.1:9"}]}'
    micro("register", ghost, "--ttl", "60")
    result = micro("health", "ghost", "--timeout", "1")
    assert result.code == 1
    assert result.lines()[0]["node"] == "ghost-1" and "error" in result.lines()[0]
