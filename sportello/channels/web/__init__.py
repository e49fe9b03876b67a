"""Web channel: public chat, experts' console, staff admin and the JSON API (FastAPI + Jinja2)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from sportello.services import Services

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


PRIVATE_PREFIXES = ("/console", "/admin", "/api/console", "/api/admin", "/api/chat", "/api/auth")


class SecurityHeaders:
    """Pure ASGI middleware (streams SSE untouched): CSP and friends on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = str(scope.get("path", "")).startswith(PRIVATE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if private:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI) -> None:
    """Add the web channel to `app`: routers, static files, error handlers, headers."""
    from sportello.channels.web import admin, admin_directory, auth, chat, console
    from sportello.channels.web.api import router as api_router
    from sportello.channels.web.errors import install_error_handlers
    from sportello.channels.web.jobs import IndexWork
    from sportello.channels.web.templating import STATIC_DIR

    app.state.index_work = IndexWork()
    install_error_handlers(app)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api_router)
    app.include_router(auth.router)
    app.include_router(console.router)
    app.include_router(admin.router)
    app.include_router(admin_directory.router)
    app.include_router(chat.router)


def background(services: Services) -> AbstractAsyncContextManager[None]:
    """What the web runs beside requests: delivering its outbox messages into the threads."""
    from sportello.channels.web.delivery import running

    return running(services)
