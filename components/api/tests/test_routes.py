"""The route table from registry entries: metadata routes first, then the resolver; and the
OpenAPI document names exactly the routes that answer."""

from __future__ import annotations

import pytest

from micro_api.catalogue import Catalogue
from micro_api.openapi import document, schema
from micro_api.routes import Table
from micro_core import errors
from micro_core.registry import Endpoint, EventType, Node, Value
from micro_core.registry import Service as Entry
from micro_core.registry.memory import MemoryRegistry

HELLO = Value("", "HelloRequest", [Value("name", "string"), Value("tags", "[]string")])
REPLY = Value("", "HelloReply", [Value("message", "string"), Value("count", "int64")])


def entry(name, *endpoints, protocol=""):
    node = Node(id=f"{name}-1", address="127.0.0.1:1", metadata={"protocol": protocol} if protocol else {})
    return Entry(name=name, version="1", endpoints=list(endpoints), nodes=[node])


TABLE = Table(
    [
        entry("greeter", Endpoint("Greeter.Hello", HELLO, REPLY), Endpoint("Debug.Health")),
        entry(
            "shop",
            Endpoint("Shop.Item", metadata={"path": "/items/{id}", "method": "GET", "timeout": "0.5"}),
            Endpoint("Shop.List", metadata={"path": "/items", "method": "GET,HEAD"}),
            Endpoint("Shop.Admin", metadata={"path": "/admin", "host": "admin.example"}),
            Endpoint("Shop.Count", HELLO, REPLY, metadata={"stream": "true"}),
        ),
        entry("storefront", protocol="http"),
        entry("micro.http.broker"),
    ]
)


def resolved(method, path, host=""):
    route = TABLE.resolve(method, host, path)
    return route.service, route.endpoint, route.handler, dict(route.params)


def test_a_metadata_route_with_a_parameter_and_its_timeout():
    assert resolved("GET", "/items/42") == ("shop", "Shop.Item", "rpc", {"id": "42"})
    assert TABLE.resolve("GET", "", "/items/42").timeout == 0.5


def test_the_most_literal_route_wins_and_methods_and_hosts_are_kept():
    assert resolved("HEAD", "/items") == ("shop", "Shop.List", "rpc", {})
    assert resolved("GET", "/admin", "admin.example:8080")[1] == "Shop.Admin"
    with pytest.raises(errors.NotFound):
        TABLE.resolve("GET", "other.example", "/admin")


def test_the_resolver_after_the_metadata_routes():
    assert resolved("POST", "/greeter/hello") == ("greeter", "Greeter.Hello", "rpc", {})
    assert resolved("POST", "/shop/shop/count")[1:3] == ("Shop.Count", "rpc")
    assert TABLE.resolve("POST", "", "/shop/shop/count").stream


def test_an_http_service_takes_every_path_under_its_name():
    assert resolved("GET", "/storefront/any/deep/path")[:3] == ("storefront", "", "http")


def test_a_failure_lists_every_try_and_only_routable_services():
    with pytest.raises(errors.NotFound) as failure:
        TABLE.resolve("POST", "", "/v2/greeter/bye")
    assert failure.value.detail == (
        'no route for POST /v2/greeter/bye: tried service "v2.greeter" endpoint "Greeter.Bye": service not '
        'registered; service "v2.greeter" endpoint "Bye.Call": service not registered; service "greeter" '
        'endpoint "Greeter.Bye": no such endpoint; service "greeter" endpoint "Bye.Call": no such endpoint '
        "(registered: greeter, shop, storefront)"
    )


def test_an_answer_is_remembered_and_so_is_a_failure():
    assert TABLE.resolve("POST", "", "/greeter/hello") is TABLE.resolve("POST", "", "/greeter/hello")
    for _ in range(2):
        with pytest.raises(errors.NotFound, match="no route for GET /nope"):
            TABLE.resolve("GET", "", "/nope")


def test_bad_metadata_and_a_route_served_twice_are_reported_not_fatal():
    table = Table(
        [
            entry("a", Endpoint("A.X", metadata={"path": "/x", "handler": "soap"})),
            entry("b", Endpoint("B.Y", metadata={"path": "/y"})),
            entry("c", Endpoint("C.Y", metadata={"path": "/y"})),
        ]
    )
    assert table.problems == [
        "a A.X: unknown handler 'soap' (one of rpc, api, http, event)",
        "c C.Y: /y is already served by b B.Y",
    ]
    assert table.resolve("POST", "", "/y").service == "b"


def test_the_listing_and_the_document_name_only_routes_that_resolve():
    paths = {row["path"] for row in TABLE.listing()}
    assert {"/items/{id}", "/items", "/admin", "/greeter/hello", "/shop/count", "/storefront/..."} <= paths
    assert not any("health" in path for path in paths)  # Debug.* is callable but not listed
    doc = document(TABLE)
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {"/items/{id}", "/items", "/admin", "/greeter/hello", "/shop/count"}
    item = doc["paths"]["/items/{id}"]["get"]
    assert item["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    assert "requestBody" not in item
    for path in doc["paths"]:
        concrete = path.replace("{id}", "1")
        methods = [m.upper() for m in doc["paths"][path]]
        assert all(TABLE.resolve(m, "admin.example", concrete) for m in methods)


def test_shapes_become_json_schemas():
    assert schema(HELLO) == {
        "type": "object",
        "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["name", "tags"],
    }
    assert schema(REPLY, required=False) == {
        "type": "object",
        "properties": {"message": {"type": "string"}, "count": {"type": "integer"}},
    }
    assert schema(Value("m", "map[string]float64")) == {
        "type": "object",
        "additionalProperties": {"type": "number"},
    }
    assert schema(None) == {}


def test_the_catalogue_keeps_its_table_through_renewals_that_change_nothing():
    catalogue = Catalogue(MemoryRegistry(), Table)
    greeter = entry("greeter", Endpoint("Greeter.Hello", HELLO, REPLY))
    catalogue.apply(EventType.CREATE, greeter)
    table = catalogue.table
    catalogue.apply(EventType.UPDATE, greeter)  # a renewal
    assert catalogue.table is table
    catalogue.apply(EventType.UPDATE, entry("greeter", Endpoint("Greeter.Bye")))
    assert catalogue.table is not table
    assert set(catalogue.table.services["greeter"].endpoints) == {"Greeter.Bye"}
    catalogue.apply(EventType.DELETE, greeter)
    assert catalogue.table.services == {}
