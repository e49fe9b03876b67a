"""/docs (Swagger UI) and /redoc from local assets: offline, and within the app's CSP.

FastAPI's own pages load their scripts from a CDN and start them with an inline script, both
refused by our Content-Security-Policy. These pages load everything from /static/docs; they
only relax `style-src` (both UIs inject styles at run time) and allow Redoc's search worker.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)


def _page(title: str, head: str, body: str) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="it"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title>{head}</head>{body}</html>"
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_CSP})


def install(app: FastAPI) -> None:
    """Serve /docs and /redoc (create the app with docs_url=None, redoc_url=None)."""
    openapi = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _page(
            f"{app.title} — API",
            '<link rel="stylesheet" href="/static/docs/swagger-ui.css">',
            f'<body data-openapi="{openapi}"><div id="swagger-ui"></div>'
            '<script src="/static/docs/swagger-ui-bundle.js"></script>'
            '<script src="/static/docs/swagger-init.js"></script></body>',
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _page(
            f"{app.title} — API",
            "",
            f'<body><redoc spec-url="{openapi}"></redoc>'
            '<script src="/static/docs/redoc.standalone.js"></script></body>',
        )
