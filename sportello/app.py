"""Composition root: build engine, knowledge base and services once, then the web app on top."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import upgrade
from sportello.knowledge.service import KnowledgeBase, build_knowledge

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a channel may call, built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    knowledge: KnowledgeBase


def build_services(settings: Settings, *, migrate: bool = True) -> Services:
    engine = make_engine(settings)
    if migrate:
        upgrade(engine)
    knowledge = build_knowledge(settings)
    return Services(settings, engine, make_sessionmaker(engine), knowledge)


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The FastAPI app; services are built in the lifespan unless given (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = services or build_services(settings)
        yield
        if services is None:
            app.state.services.engine.dispose()

    app = FastAPI(title="Sportello", version="0.1.0", lifespan=lifespan)

    from sportello.channels.web.routes import router

    app.include_router(router)
    return app
