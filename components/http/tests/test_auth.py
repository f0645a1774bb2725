"""Authentication: the ``micro_authenticate`` hook, static bearer tokens and JWTs."""

from __future__ import annotations

import time

import jwt
import pytest
from aiohttp import web

from micro_core import errors, hookimpl
from micro_http import BearerAuth, HttpSettings, Identity, http_plugins, identity

SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret!"


async def whoami(request: web.Request) -> web.Response:
    found = identity(request)
    return web.json_response({"subject": found.subject if found else None})


ROUTES = [web.get("/whoami", whoami), web.get("/health", whoami)]


def token(**claims):
    return jwt.encode({"sub": "ada", "exp": time.time() + 60, **claims}, SECRET, algorithm="HS256")


async def get(http, url, bearer=None):
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with http.get(url, headers=headers) as response:
        return response.status, await response.json(), response.headers


class ApiKeys:
    """A plugin's own scheme: ``X-Api-Key``."""

    @hookimpl
    async def micro_authenticate(self, request):
        key = request.headers.get("X-Api-Key")
        if key is None:
            return None
        if key == "banned":
            raise errors.Forbidden("this key is banned")
        return Identity("key-user", {"key": key}, "apikey")


async def test_micro_authenticate(edge_app):
    plugins = http_plugins(autoload=False)
    plugins.register(ApiKeys())
    url, http = await edge_app(ROUTES, HttpSettings(auth_required=True), plugins)
    async with http.get(f"{url}/whoami", headers={"X-Api-Key": "k1"}) as response:
        assert await response.json() == {"subject": "key-user"}
    async with http.get(f"{url}/whoami", headers={"X-Api-Key": "banned"}) as response:
        assert response.status == 403
    status, body, headers = await get(http, f"{url}/whoami")
    assert status == 401
    assert "Authorization: Bearer" in body["detail"]
    assert headers["WWW-Authenticate"] == 'Bearer realm="micro"'


async def test_a_jwt_is_verified_and_its_subject_known(edge_app):
    url, http = await edge_app(ROUTES, HttpSettings(auth_required=True, jwt_key=SECRET), public=("/health",))
    assert (await get(http, f"{url}/whoami", token()))[:2] == (200, {"subject": "ada"})
    status, body, _ = await get(http, f"{url}/whoami", token(exp=time.time() - 5))
    assert (status, body["detail"]) == (401, "invalid token: Signature has expired")
    forged = jwt.encode({"sub": "eve", "exp": time.time() + 60}, "another-key-another-key-another!", "HS256")
    status, body, _ = await get(http, f"{url}/whoami", forged)
    assert (status, body["detail"]) == (401, "invalid token: Signature verification failed")
    assert (await get(http, f"{url}/whoami"))[0] == 401
    assert (await get(http, f"{url}/health"))[:2] == (200, {"subject": None})


async def test_static_tokens(edge_app):
    url, http = await edge_app(ROUTES, HttpSettings(auth_required=True, tokens={"tok-1": "ci"}))
    assert (await get(http, f"{url}/whoami", "tok-1"))[:2] == (200, {"subject": "ci"})
    status, body, _ = await get(http, f"{url}/whoami", "tok-2")
    assert (status, body["detail"]) == (401, "unknown bearer token")


async def test_without_required_auth_an_anonymous_caller_passes(edge_app):
    url, http = await edge_app(ROUTES, HttpSettings(jwt_key=SECRET))
    assert (await get(http, f"{url}/whoami"))[:2] == (200, {"subject": None})
    assert (await get(http, f"{url}/whoami", "garbage"))[0] == 401


class Sloppy:
    @hookimpl
    def micro_authenticate(self, request):
        return "ada"


async def test_an_implementation_returning_the_wrong_type_fails_loudly(edge_app):
    plugins = http_plugins(autoload=False)
    plugins.register(Sloppy(), name="sloppy")
    url, http = await edge_app(ROUTES, HttpSettings(), plugins)
    status, body, _ = await get(http, f"{url}/whoami")
    assert status == 500
    assert "micro_authenticate of sloppy returned str" in body["detail"]


def test_the_none_algorithm_is_refused():
    with pytest.raises(ValueError, match="unsigned"):
        BearerAuth(jwt_key="k", algorithms=("HS256", "none"))


async def test_a_plugin_registered_after_the_app_is_built_is_still_asked(edge_app):
    """Auth that is off is skipped per request, not decided once: a late plugin still counts."""
    plugins = http_plugins(autoload=False)
    url, http = await edge_app(ROUTES, HttpSettings(), plugins)
    assert (await get(http, f"{url}/whoami"))[1] == {"subject": None}
    plugins.register(ApiKeys())
    async with http.get(f"{url}/whoami", headers={"X-Api-Key": "k1"}) as response:
        assert await response.json() == {"subject": "key-user"}
