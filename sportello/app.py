"""Composition root: build the services once, then the web app (and the bot) on top."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sportello.channels import web
from sportello.channels.email.sender import running as email_outbox
from sportello.channels.telegram.bot import telegram_bot
from sportello.channels.telegram.webhook import router as telegram_webhook
from sportello.channels.web import api_docs, ops
from sportello.config import Settings
from sportello.desk.scheduling import running_reminders
from sportello.privacy.retention import running_retention
from sportello.services import Services, build_services
from sportello.usecases import limits

logger = logging.getLogger(__name__)

__all__ = ["Services", "build_services", "create_app"]


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The FastAPI app; services are built in the lifespan unless given (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = services or build_services(settings)
        async with (
            running_reminders(app.state.services.sessions, settings, app.state.services.clock),
            running_retention(app.state.services.sessions, settings, app.state.services.clock),
            limits.pruning(app.state.services),
            web.background(app.state.services),
            email_outbox(app.state.services.sessions, settings, app.state.services.clock),
            telegram_bot(settings, app.state.services) as bot,  # None without a token
        ):
            app.state.telegram = bot
            yield
        if services is None:
            app.state.services.engine.dispose()

    # /docs and /redoc come from local assets (channels/web/api_docs.py), not FastAPI's CDN.
    app = FastAPI(
        title="Sportello", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    web.install(app)
    api_docs.install(app)
    app.include_router(telegram_webhook)
    ops.install(app)  # /readyz, /metrics, request ids and timing, warm-up (channels/web/ops.py)
    return app
