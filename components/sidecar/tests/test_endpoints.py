"""Where the app's endpoints come from, and where a call to each one goes on the app."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from micro_core.registry import Endpoint
from micro_sidecar import Delivery, EndpointsError, from_file, from_openapi


def test_a_file_of_names_or_registry_entries(tmp_path: Path):
    names = tmp_path / "names.json"
    names.write_text(json.dumps(["Greeter.Hello", "Greeter.Bye"]))
    assert [e.name for e in from_file(names)] == ["Greeter.Hello", "Greeter.Bye"]

    entries = tmp_path / "entries.json"
    entries.write_text(
        json.dumps({"endpoints": [{"name": "Greeter.Hello", "request": {"name": "Req", "type": "Req"}}]})
    )
    [hello] = from_file(entries)
    assert hello.request is not None and hello.request.type == "Req"


@pytest.mark.parametrize(
    "content, words",
    [
        ("{not json", "cannot read endpoints"),
        ('{"endpoints": 3}', "expected a list"),
        ('[{"request": {}}]', "not an endpoint"),
    ],
)
def test_a_bad_file_names_itself_and_the_problem(tmp_path: Path, content, words):
    path = tmp_path / "endpoints.json"
    path.write_text(content)
    with pytest.raises(EndpointsError, match=words) as raised:
        from_file(path)
    assert str(path) in str(raised.value)


def test_an_openapi_document_without_post_operations_is_refused():
    document = {"openapi": "3.1.0", "paths": {"/health": {"get": {}}}}
    with pytest.raises(EndpointsError, match="no POST operation"):
        from_openapi(document, "http://app/openapi.json")
    with pytest.raises(EndpointsError, match="not an OpenAPI document"):
        from_openapi({"swagger": "2.0"}, "http://app/openapi.json")


async def test_a_call_goes_to_the_template_or_to_the_endpoints_own_path():
    endpoints = [Endpoint(name="Greeter.Hello"), Endpoint(name="Orders.Create", metadata={"path": "/orders"})]
    async with aiohttp.ClientSession() as http:
        default = Delivery("greeter", "http://127.0.0.1:3000/", endpoints, http)
        assert default.target("Greeter.Hello") == "http://127.0.0.1:3000/Greeter.Hello"
        assert default.target("Orders.Create") == "http://127.0.0.1:3000/orders"
        templated = Delivery(
            "greeter", "http://127.0.0.1:3000", endpoints, http, template="/rpc/{service}/{endpoint}"
        )
        assert templated.target("Greeter.Hello") == "http://127.0.0.1:3000/rpc/greeter/Greeter.Hello"
