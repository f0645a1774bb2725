"""The strict gateway: authentication, the namespace, body limit, per-client rate limit, /rpc off."""

from __future__ import annotations

import json
import time

import aiohttp
import jwt
import pytest

pytestmark = pytest.mark.timeout(120)


def token(subject: str, **claims):
    secret = "the-gateway-test-secret-of-32-bytes!"  # the strict gateway's --jwt-key
    return jwt.encode({"sub": subject, "exp": time.time() + 60, **claims}, secret, algorithm="HS256")


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http, method, url, bearer=None, **kwargs):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with http.request(method, url, headers=headers, **kwargs) as response:
        return response.status, response.headers, await response.read()


async def test_missing_or_bad_credentials_are_401(strict, http):
    status, headers, body = await call(http, "POST", f"{strict.url}/depot/shop/item", json={"id": "1"})
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Bearer realm="micro"'
    assert "Authorization: Bearer" in json.loads(body)["detail"]
    status, _, body = await call(http, "POST", f"{strict.url}/depot/shop/item", "not-a-jwt", json={"id": "1"})
    assert status == 401
    assert json.loads(body)["detail"].startswith("invalid token: ")
    expired = token("ada", exp=time.time() - 10)
    status, _, body = await call(http, "POST", f"{strict.url}/depot/shop/item", expired, json={"id": "1"})
    assert (status, json.loads(body)["detail"]) == (401, "invalid token: Signature has expired")


async def test_a_jwt_or_a_static_token_passes_and_the_namespace_prefixes_the_service(strict, http):
    status, _, body = await call(
        http, "POST", f"{strict.url}/depot/shop/item", token("ada"), json={"id": "2"}
    )
    assert (status, json.loads(body)["name"]) == (200, "item 2")  # service acme.depot
    status, _, _ = await call(http, "POST", f"{strict.url}/depot/shop/item", "ci-token", json={"id": "2"})
    assert status == 200
    status, _, body = await call(http, "POST", f"{strict.url}/greeter/hello", "ci-token", json={})
    assert status == 404
    assert 'tried service "acme.greeter"' in json.loads(body)["detail"]


async def test_health_and_the_document_need_no_credentials(strict, http):
    for path in ("/health", "/ready", "/openapi.json", "/docs"):
        assert (await call(http, "GET", strict.url + path))[0] == 200, path


async def test_a_body_over_the_limit_is_413(strict, http):
    big = {"id": "x" * 2000}
    status, _, body = await call(http, "POST", f"{strict.url}/depot/shop/item", token("ada"), json=big)
    assert status == 413
    assert "over the limit of 1024" in json.loads(body)["detail"]


async def test_a_client_over_its_rate_is_429_and_others_are_not(strict, http):
    flood = token("flood")
    statuses = []
    for _ in range(12):
        status, headers, _ = await call(http, "GET", f"{strict.url}/depot/shop/stats", flood)
        statuses.append(status)
        if status == 429:
            assert int(headers["Retry-After"]) >= 1
    assert statuses[0] == 200
    assert 429 in statuses
    assert (await call(http, "GET", f"{strict.url}/depot/shop/stats", token("calm")))[0] == 200


async def test_rpc_is_off_unless_enabled(strict, http):
    request = {"service": "acme.depot", "endpoint": "Shop.Stats"}
    status, _, body = await call(http, "POST", f"{strict.url}/rpc", token("ada"), json=request)
    assert status == 404
    assert json.loads(body)["detail"] == "/rpc is off: start micro api with --enable-rpc"
