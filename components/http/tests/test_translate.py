"""An HTTP request becomes the value of a call: JSON, form fields or query parameters."""

from __future__ import annotations

from aiohttp import web

from micro_http import read_value


async def value(request: web.Request) -> web.Response:
    return web.json_response({"value": await read_value(request)})


ROUTES = [web.route("*", "/v", value)]


async def test_a_json_body_is_the_request(edge_app):
    url, http = await edge_app(ROUTES)
    async with http.post(f"{url}/v", json={"name": "Ada", "n": [1, 2]}) as response:
        assert await response.json() == {"value": {"name": "Ada", "n": [1, 2]}}


async def test_a_body_without_content_type_is_read_as_json(edge_app):
    url, http = await edge_app(ROUTES)
    async with http.post(f"{url}/v", data=b'{"a": 1}', headers={"Content-Type": ""}) as response:
        assert await response.json() == {"value": {"a": 1}}


async def test_malformed_json_is_400_saying_where(edge_app):
    url, http = await edge_app(ROUTES)
    async with http.post(
        f"{url}/v", data=b'{"name": "Ada",}', headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 400
        detail = (await r.json())["detail"]
        assert detail.startswith("malformed JSON body: ")
        assert "byte 15" in detail


async def test_form_fields_become_an_object_and_repeats_a_list(edge_app):
    url, http = await edge_app(ROUTES)
    async with http.post(f"{url}/v", data={"name": "Ada"}) as response:
        assert await response.json() == {"value": {"name": "Ada"}}
    async with http.post(f"{url}/v", data=[("tag", "a"), ("tag", "b")]) as response:
        assert await response.json() == {"value": {"tag": ["a", "b"]}}


async def test_a_get_takes_its_query(edge_app):
    url, http = await edge_app(ROUTES)
    async with http.get(f"{url}/v?name=Ada&n=1&n=2") as response:
        assert await response.json() == {"value": {"name": "Ada", "n": ["1", "2"]}}
    async with http.get(f"{url}/v") as response:
        assert await response.json() == {"value": {}}


async def test_another_body_type_is_415(edge_app):
    url, http = await edge_app(ROUTES)
    async with http.post(f"{url}/v", data=b"<a/>", headers={"Content-Type": "application/xml"}) as response:
        assert response.status == 415
        assert "application/xml" in (await response.json())["detail"]


async def test_a_malformed_form_body_is_400(edge_app):
    url, http = await edge_app(ROUTES)
    headers = {"Content-Type": "multipart/form-data"}  # no boundary
    async with http.post(f"{url}/v", data=b"null", headers=headers) as response:
        assert response.status == 400
        assert (await response.json())["detail"].startswith("malformed multipart/form-data body: ")
