"""The docs page in a real browser (headless Chromium): Swagger UI from the package's own files,
no request leaving the machine, every documented operation drawn. Needs scripts/servers/chromium.sh."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.timeout(120)

CHROMIUM = "/usr/bin/chromium"  # scripts/servers/chromium.sh installs it and playwright


def test_the_docs_page_draws_every_operation_offline(gateway):
    operations = sum(len(methods) for methods in gateway.get("/openapi.json")["paths"].values())
    requested: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.on(
                "console", lambda message: errors.append(message.text) if message.type == "error" else None
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{gateway.url}/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            drawn = page.locator(".opblock").count()
        finally:
            browser.close()
    assert drawn == operations
    assert errors == []
    assert all(url.startswith(gateway.url) for url in requested), requested
