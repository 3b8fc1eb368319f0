"""/docs in a real browser: Swagger UI from the package renders the spec under the
pages' CSP, and nothing is fetched from anywhere but this server."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server


def test_the_api_explorer_renders_from_this_server_alone(
        server: Server, page: Page) -> None:
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{server.base}/docs")
    expect(page.get_by_text("/api/v1/decisions").first).to_be_visible(timeout=20_000)
    expect(page.locator(".opblock").first).to_be_visible()
    here = urlsplit(server.base).netloc
    assert {urlsplit(u).netloc for u in requested if not u.startswith("data:")} == {here}
    assert problems == []
