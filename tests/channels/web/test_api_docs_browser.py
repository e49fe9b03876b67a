"""/docs and /redoc render in the real headless Chromium, offline, under the app's CSP."""

from __future__ import annotations

import re

import httpx

from tests.channels.web.test_browser import (  # noqa: F401  (fixtures)
    browser,
    new_page,
    pytestmark,
    server,
)


def watch_console(page: object) -> list[str]:
    problems: list[str] = []
    page.on(  # type: ignore[attr-defined]
        "console", lambda m: problems.append(m.text) if m.type == "error" else None
    )
    page.on("pageerror", lambda e: problems.append(str(e)))  # type: ignore[attr-defined]
    # Offline: any request leaving the app fails the test.
    page.route(  # type: ignore[attr-defined]
        re.compile(r"^(?!http://127\.0\.0\.1).*"),
        lambda route: (problems.append(f"external request {route.request.url}"), route.abort()),
    )
    return problems


def test_swagger_ui_and_redoc_render(server: str, browser: object) -> None:  # noqa: F811
    assert httpx.get(f"{server}/static/docs/swagger-ui-bundle.js").status_code == 200
    page = new_page(browser)
    problems = watch_console(page)
    page.goto(f"{server}/docs")  # type: ignore[attr-defined]
    page.locator(".swagger-ui .info .title").filter(has_text="Sportello").wait_for()  # type: ignore[attr-defined]
    page.locator(".opblock").first.wait_for()  # type: ignore[attr-defined]
    assert page.locator(".opblock").count() > 5  # type: ignore[attr-defined]
    page = new_page(browser)
    problems += watch_console(page)
    page.goto(f"{server}/redoc")  # type: ignore[attr-defined]
    page.get_by_role("heading", name=re.compile("Sportello")).first.wait_for()  # type: ignore[attr-defined]
    page.locator("[data-section-id]").first.wait_for()  # type: ignore[attr-defined]
    assert not [p for p in problems if "Content Security Policy" in p or "external" in p], problems
