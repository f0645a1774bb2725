"""The dashboard in a real headless Chromium (Debian's, driven by Playwright), against real processes.

``micro web``, the greeter and the example web app run as separate processes sharing a
local registry in a temporary directory. One browser session logs in once with the
printed one-time link; every page's console is watched and must stay free of errors.
Screenshots go to ``components/web/tests/artifacts/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api as playwright
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from micro_core.testing.processes import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
BIN = Path(sys.executable).parent


class World:
    """A registry directory and the ``MICRO_*`` settings every process of the test shares."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env = {
            "MICRO_REGISTRY": "local",
            "MICRO_REGISTRY_ADDRESS": str(directory / "registry"),
            "MICRO_LOG_LEVEL": "INFO",
        }
        self.processes: list[ServerProcess] = []

    def start(
        self, name: str, argv: list[str], ready: str, *, cwd: Path = ROOT, port_option: str = "SERVER_ADDRESS"
    ) -> ServerProcess:
        """Start ``argv`` listening on a free port (given as ``MICRO_<port_option>``), once ready."""
        port = free_port()
        process = ServerProcess(
            argv,
            port=port,
            env={**self.env, f"MICRO_{port_option}": f"127.0.0.1:{port}"},
            cwd=cwd,
            log_path=self.directory / f"{name}.log",
            ready_text=ready,
            name=name,
        ).start(timeout=30)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = World(tmp_path_factory.mktemp("dashboard"))
    yield world
    world.stop()


@pytest.fixture(scope="module")
def dashboard(world: World) -> str:
    """``micro web`` on a free port; its one-time login link."""
    web = world.start(
        "micro-web", [str(BIN / "micro"), "web"], "open this link once to log in", port_option="WEB_ADDRESS"
    )
    assert web.log_path is not None
    link = re.search(r"http://\S+/_/login\?token=\S+", web.log_path.read_text())
    assert link is not None
    return link.group(0)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):  # a missing browser fails the tests: they are the proof
        pytest.fail(f"needs Debian's chromium at {CHROMIUM}: scripts/servers/chromium.sh install")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def session(browser: Browser, dashboard: str) -> Iterator[BrowserContext]:
    """A browser session logged in with the link; console errors of every page are collected."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.errors = []  # type: ignore[attr-defined]

    def watch(page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                context.errors.append(f"{page.url}: {message.text}")  # type: ignore[attr-defined]

        page.on("console", on_console)
        page.on("pageerror", lambda error: context.errors.append(f"{page.url}: {error}"))  # type: ignore[attr-defined]

    context.on("page", watch)
    page = context.new_page()
    page.goto(dashboard)
    expect(page.locator("h1")).to_have_text("Services")
    page.close()
    yield context
    context.close()


@pytest.fixture
def page(session: BrowserContext) -> Iterator[Page]:
    page = session.new_page()
    yield page
    page.close()
    assert session.errors == [], "the browser console logged errors"  # type: ignore[attr-defined]


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def base(link: str) -> str:
    return link.split("/_/login")[0]


# --- the "what must hold" walk-through, in order ----------------------------------------------


def test_a_started_greeter_appears_without_a_reload_and_is_called_from_its_generated_form(
    world: World, dashboard: str, page: Page
) -> None:
    page.goto(base(dashboard) + "/")
    expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
    expect(page.locator("tr[data-service=greeter]")).to_have_count(0)
    world.start("greeter", [sys.executable, str(ROOT / "examples/greeter/greeter.py")], "serving on")
    greeter_row = page.locator("tr[data-service=greeter]")
    expect(greeter_row).to_be_visible(timeout=10_000)
    expect(greeter_row.locator("td").nth(2)).to_have_text("1")
    shoot(page, "services")

    greeter_row.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text("greeter")
    expect(page.locator("[data-health=ok]")).to_be_visible(timeout=10_000)
    hello = page.locator("details[data-endpoint='Greeter.Hello']")
    hello.locator("summary").click()
    expect(hello.locator(".type").first).to_contain_text("name: string")
    hello.get_by_role("textbox", name="name").fill("Ada")
    hello.get_by_role("button", name="Call", exact=True).click()
    expect(hello.locator("pre.reply")).to_contain_text('"message": "Hello Ada')
    expect(hello.locator(".history")).to_contain_text('{"name":"Ada"}')
    shoot(page, "service")


def test_a_bad_field_is_rendered_as_the_services_400(dashboard: str, page: Page) -> None:
    page.goto(base(dashboard) + "/#/service/greeter")
    hello = page.locator("details[data-endpoint='Greeter.Hello']")
    hello.locator("summary").click()
    hello.get_by_label("edit as raw JSON").check()
    hello.get_by_label("Greeter.Hello request as JSON").fill('{"name": 5}')
    hello.get_by_role("button", name="Call", exact=True).click()
    expect(hello.locator(".result [data-code]")).to_have_text("400")
    expect(hello.locator(".error-detail")).to_contain_text("Expected `str`, got `int` - at `$.name`")
    shoot(page, "call-error")


def test_a_topic_is_watched_while_messages_are_published(world: World, dashboard: str, page: Page) -> None:
    page.goto(base(dashboard) + "/#/topics")
    page.get_by_label("topic", exact=True).fill("news")
    page.get_by_role("button", name="Watch").click()
    expect(page.locator("[data-watching=news]")).to_be_visible()
    subprocess.run(
        [str(BIN / "micro"), "publish", "news", '{"headline": "from the command line"}'],
        env={**os.environ, **world.env},
        check=True,
        timeout=30,
    )
    expect(page.locator(".message").first).to_contain_text('"headline": "from the command line"')
    page.get_by_label("message as JSON").fill('{"headline": "from the page"}')
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".message").first).to_contain_text('"headline": "from the page"')
    expect(page.locator(".message")).to_have_count(2)
    shoot(page, "topics")


def test_a_stopped_greeter_goes_from_the_list_and_the_log_says_so(
    world: World, dashboard: str, page: Page
) -> None:
    page.goto(base(dashboard) + "/")
    row = page.locator("tr[data-service=greeter]")
    expect(row).to_be_visible()
    [greeter] = [p for p in world.processes if p.name == "greeter"]
    greeter.stop()
    expect(row).to_have_count(0, timeout=10_000)
    page.keyboard.press("g")
    page.keyboard.press("e")
    expect(page.locator("h1")).to_have_text("Registry events")
    expect(page.locator("tr.log-row", has_text="greeter").first).to_contain_text("deregistered")
    expect(page.locator("tr.log-row", has_text="greeter").last).to_contain_text("registered")
    shoot(page, "events")


def test_a_proxied_web_app_exchanges_websocket_messages_through_the_proxy(
    world: World, dashboard: str, page: Page
) -> None:
    world.start(
        "webapp",
        [str(BIN / "micro"), "run", "app:app", "--name", "webapp"],
        "serving http://",
        cwd=ROOT / "examples" / "webapp",
        port_option="WEB_SERVER_ADDRESS",
    )
    page.goto(base(dashboard) + "/")
    link = page.locator("tr[data-service='micro.web.webapp'] a", has_text="open")
    expect(link).to_have_attribute("href", "/webapp/", timeout=10_000)
    page.goto(base(dashboard) + "/webapp/")
    expect(page.locator("h1")).to_have_text("Hello from webapp")
    expect(page.locator("#self")).to_have_attribute("href", "/webapp/")
    expect(page.locator("body")).to_have_attribute("data-socket", "open")
    page.get_by_label("message").fill("through the proxy")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#log")).to_contain_text("echo: through the proxy")
    shoot(page, "webapp")


def test_a_websocket_whose_web_service_dies_is_closed_in_the_browser_with_a_reason(
    world: World, dashboard: str, page: Page
) -> None:
    page.goto(base(dashboard) + "/webapp/")
    expect(page.locator("body")).to_have_attribute("data-socket", "open")
    [webapp] = [p for p in world.processes if p.name == "webapp"]
    webapp.kill()
    expect(page.locator("body")).to_have_attribute("data-socket", "closed")
    expect(page.locator("#log")).to_contain_text(
        re.compile(r"closed: 1011 micro\.web\.webapp node \S+ went away")
    )
    shoot(page, "webapp-gone")


def test_the_keyboard_finds_and_opens_a_service(dashboard: str, page: Page) -> None:
    page.goto(base(dashboard) + "/")
    expect(page.locator("tr[data-service='micro.web.webapp']")).to_be_visible()
    page.keyboard.press("/")
    page.keyboard.type("webapp")
    expect(page.locator("tbody tr[data-service]")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text("micro.web.webapp")


def test_a_streaming_endpoint_shows_each_reply_as_it_arrives(
    world: World, dashboard: str, page: Page
) -> None:
    world.start("counter", [sys.executable, str(Path(__file__).parent / "counter.py")], "serving on")
    page.goto(base(dashboard) + "/")
    page.locator("tr[data-service=counter] a").click()
    count = page.locator("details[data-endpoint='Counter.Count']")
    count.locator("summary").click()
    count.get_by_role("spinbutton", name="to").fill("3")
    count.get_by_role("button", name="Open stream").click()
    expect(count.locator("pre.reply")).to_have_count(1)  # the first tick, before the stream ends
    expect(count.locator(".result")).to_contain_text("open")
    expect(count.locator("pre.reply")).to_have_count(3)
    expect(count.locator(".result")).to_contain_text("3 replies")
    shoot(page, "stream")


def test_a_node_that_does_not_answer_its_health_check_is_marked(
    world: World, dashboard: str, page: Page
) -> None:
    ghost = {
        "name": "ghost",
        "version": "0.1.0",
        "nodes": [{"id": "ghost-1", "address": f"127.0.0.1:{free_port()}"}],
    }
    subprocess.run(  # nothing listens at the node's address
        [str(BIN / "micro"), "register", json.dumps(ghost), "--ttl", "600"],
        env={**os.environ, **world.env},
        check=True,
        timeout=30,
    )
    page.goto(base(dashboard) + "/")
    page.locator("tr[data-service=ghost] a").click()
    card = page.locator(".node[data-node=ghost-1]")
    expect(card).to_have_class(re.compile(r"\bunhealthy\b"), timeout=10_000)
    expect(card.locator("[data-health]")).to_have_text("unhealthy")
    shoot(page, "unhealthy")
