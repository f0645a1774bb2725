"""Go Micro's tag encoding, on its own: what goes into the tags of one Consul instance and back."""

from __future__ import annotations

import zlib

import pytest

from micro_core.registry import Endpoint, Node, Service, Value
from micro_registry_consul import TagError, decode_tags, encode_tags
from micro_registry_consul.encoding import MAX_TAG_BYTES, Decoded


def hexzlib(data: bytes) -> str:
    return zlib.compress(data).hex()


def test_tags_round_trip_every_field() -> None:
    request = Value("Req", "Req", [Value("items", "[]Item", [Value("id", "int64")])])
    service = Service(
        "greeter",
        "1.0.0",
        metadata={"team": "core"},
        endpoints=[Endpoint("Greeter.Hello", request, None, {"stream": "true"}), Endpoint("Greeter.Ping")],
    )
    node = Node("greeter-1", "127.0.0.1:9000", {"zone": "eu", "ünïcode": "✓"})
    assert decode_tags(encode_tags(service, node)) == Decoded(
        "1.0.0", node.metadata, service.endpoints, {"team": "core"}
    )


def test_go_micro_tags_with_nulls_are_read() -> None:
    endpoint = (
        b'{"request":null,"response":{"name":"R","type":"R","values":null},"metadata":null,"name":"A.B"}'
    )
    tags = ["v-" + hexzlib(b""), "t-" + hexzlib(b'{"k":"v"}'), "e-" + hexzlib(endpoint)]
    assert decode_tags(tags) == Decoded("", {"k": "v"}, [Endpoint("A.B", None, Value("R", "R"))])


def test_tags_that_are_not_ours_are_ignored_and_the_first_version_wins() -> None:
    tags = ["primary", "traefik.enable=true", "x-" + hexzlib(b"?"), "v=2", "v=3", "team"]
    assert decode_tags(tags) == Decoded("2")


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ("v-zz", "not hex-encoded zlib data"),
        ("v-" + hexzlib(b"1.0")[:-4], "truncated zlib data"),
        ("t-" + hexzlib(b'["not", "an object"]'), "bad t- tag"),
        ("t=" + '{"n": 1}', "bad t= tag"),
        ("e-" + hexzlib(b'{"name": 5}'), "bad e- tag"),
        ("v-" + hexzlib(b"\xff"), "bad v- tag"),
        ("s-" + hexzlib(b"{"), "bad s- tag"),
    ],
)
def test_a_malformed_tag_is_a_clear_error(tag: str, problem: str) -> None:
    with pytest.raises(TagError, match=problem):
        decode_tags([tag, "v=1"])


def test_a_tag_that_inflates_beyond_the_limit_is_refused() -> None:
    bomb = "t-" + hexzlib(b'{"k":"' + b"x" * MAX_TAG_BYTES + b'"}')
    with pytest.raises(TagError, match="decompresses to more than"):
        decode_tags(["v=1", bomb])


def test_tags_without_a_version_are_not_micros() -> None:
    with pytest.raises(TagError, match="not registered by micro or Go Micro"):
        decode_tags(["t-" + hexzlib(b'{"k":"v"}')])
