"""``micro web``'s safety: loopback by default, no open door elsewhere, a one-time login, CSRF."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from micro_core.testing.processes import ServerProcess, free_port
from micro_web.command import is_loopback

MICRO = str(Path(sys.executable).parent / "micro")


def test_only_loopback_addresses_count_as_loopback() -> None:
    assert is_loopback("127.0.0.1:8082")
    assert is_loopback("[::1]:8082")
    assert is_loopback("localhost:8082")
    assert not is_loopback("0.0.0.0:8082")
    assert not is_loopback(":8082")
    assert not is_loopback("192.0.2.10:8082")


def test_it_refuses_to_serve_beyond_loopback_without_authentication(tmp_path: Path) -> None:
    # 192.0.2.0/24 is reserved for documentation: even a broken check could not listen there.
    refused = subprocess.run(
        [MICRO, "web", "--address", "192.0.2.10:8082", "--no-auth"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": str(tmp_path), "PATH": ""},
    )
    assert refused.returncode == 2
    assert "refusing to serve 192.0.2.10:8082 without authentication" in refused.stderr
    assert "--insecure" in refused.stderr


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``micro web`` with its defaults (login required); its base URL and the printed link."""
    directory = tmp_path_factory.mktemp("safety")
    port = free_port()
    web = ServerProcess(
        [MICRO, "web", "--address", f"127.0.0.1:{port}"],
        port=port,
        env={"MICRO_REGISTRY": "local", "MICRO_REGISTRY_ADDRESS": str(directory / "registry")},
        log_path=directory / "web.log",
        ready_text="open this link once to log in",
    )
    with web:
        link = re.search(r"http://\S+/_/login\?token=\S+", (directory / "web.log").read_text())
        assert link is not None
        yield f"http://127.0.0.1:{port}", link.group(0)


@pytest.fixture(scope="module")
def operator(dashboard: tuple[str, str]) -> str:
    """The session cookie the login link gives (the link is spent after this)."""

    class Keep(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None  # look at the 303 itself

    try:
        urllib.request.build_opener(Keep).open(dashboard[1])
    except urllib.error.HTTPError as answer:
        assert answer.code == 303
        cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    return cookie.split(";")[0].partition("=")[2]


async def test_nothing_but_the_page_shell_answers_before_login_and_the_link_works_once(
    dashboard: tuple[str, str], operator: str
) -> None:
    base, link = dashboard
    async with aiohttp.ClientSession() as stranger:
        async with stranger.get(f"{base}/") as page:
            assert page.status == 200, "the page shell (no data) is public"
        for path in ("/_/api/services", "/_/api/log", "/webapp/"):
            async with stranger.get(base + path) as response:
                assert response.status == 401, path
        async with stranger.get(link, allow_redirects=False) as again:
            assert again.status == 401, "the link was spent by the operator's login"
    async with (
        aiohttp.ClientSession(cookies={"micro_web_session": operator}) as http,
        http.get(f"{base}/_/api/services") as response,
    ):
        assert response.status == 200


async def test_calls_and_publishes_need_the_sessions_csrf_token(
    dashboard: tuple[str, str], operator: str
) -> None:
    base = dashboard[0]
    form = {"service": "nothing", "endpoint": "Nothing.Call", "request": {}}
    async with aiohttp.ClientSession(cookies={"micro_web_session": operator}) as http:
        async with http.post(f"{base}/_/api/call", json=form) as refused:
            assert refused.status == 403
            assert (await refused.json())["id"] == "micro.web.csrf"
        async with http.post(f"{base}/_/api/topics/news", json={"a": 1}) as refused:
            assert refused.status == 403
        async with http.get(f"{base}/_/api/session") as session:
            csrf = (await session.json())["csrf"]
        async with http.post(f"{base}/_/api/call", json=form, headers={"X-CSRF-Token": csrf}) as answered:
            assert answered.status == 200, "the service's failure is the answer's content"
            assert (await answered.json())["error"]["code"] == 404


async def test_a_browser_asking_for_a_missing_web_service_gets_a_page_saying_so(
    dashboard: tuple[str, str], operator: str
) -> None:
    base = dashboard[0]
    async with aiohttp.ClientSession(cookies={"micro_web_session": operator}) as http:
        async with http.get(f"{base}/shop/", headers={"Accept": "text/html"}) as page:
            assert page.status == 404
            assert page.content_type == "text/html"
            text = await page.text()
        async with http.get(f"{base}/shop/") as error:
            assert error.status == 404
            assert (await error.json())["id"] == "micro.proxy"
    assert "<h1>404 Not Found</h1>" in text
    assert "no web service &#x27;micro.web.shop&#x27; is registered" in text
