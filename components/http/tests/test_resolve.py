"""The path resolver reads paths as Go Micro's gateway does."""

import pytest

from micro_http import Candidate, candidates


def names(path, namespace=""):
    return [(c.service, c.endpoint) for c in candidates(path, namespace)]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/greeter", [("greeter", "Greeter.Call")]),
        ("/greeter/hello", [("greeter", "Greeter.Hello"), ("greeter", "Hello.Call")]),
        ("/greeter/say/hello", [("greeter", "Say.Hello")]),
        ("/greeter/say_hello/", [("greeter", "Greeter.SayHello"), ("greeter", "SayHello.Call")]),
        ("/shop-front/list-items", [("shop-front", "ShopFront.ListItems"), ("shop-front", "ListItems.Call")]),
        ("/", []),
        ("/a/b/c/d", []),
    ],
)
def test_paths(path, expected):
    assert names(path) == expected


def test_a_version_prefix_names_the_versioned_service_first_then_the_plain_one():
    assert names("/v1/greeter/hello") == [
        ("v1.greeter", "Greeter.Hello"),
        ("v1.greeter", "Hello.Call"),
        ("greeter", "Greeter.Hello"),
        ("greeter", "Hello.Call"),
    ]


def test_a_namespace_prefixes_every_service():
    assert names("/foo/bar", "acme") == [("acme.foo", "Foo.Bar"), ("acme.foo", "Bar.Call")]


def test_a_candidate_says_what_it_is():
    assert str(Candidate("foo", "Bar.Call")) == 'service "foo" endpoint "Bar.Call"'
