"""Fixtures: a small real knowledge base (ingested once), a fake Bot API server, services.

The bot under test is the real python-telegram-bot Application built by `build_bot`, talking
HTTP to `FakeBotApi` through PTB's own client (`base_url`); the assistant is the real one.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sportello.answering.assistant import Assistant
from sportello.clock import FrozenClock
from sportello.config import Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import upgrade
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.service import KnowledgeBase, build_knowledge
from sportello.services import Services, build_assistant
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.conftest import KB_DIR, NOW, make_settings
from tests.desk.factory import World, build_world

TOKEN = "123456789:TEST-token_only-for-tests"
# A few real documents: enough for real answers with sources, quick to embed.
KB_DOCS = [
    "fiscale/cinque-per-mille-chi-puo-accedere-e-iscrizione.md",
    "sportello/come-prenotare-un-appuntamento-con-un-esperto.md",
    "sportello/cosa-fa-sportello.md",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def bot_kb(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[KnowledgeBase, Assistant]:
    """The real retriever and assistant over a few knowledge-base documents."""
    root = tmp_path_factory.mktemp("botkb")
    kb_dir = root / "kb"
    for doc in KB_DOCS:
        (kb_dir / doc).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(KB_DIR / doc, kb_dir / doc)
    settings = make_settings(root, kb_dir=kb_dir)
    engine = make_engine(settings)
    upgrade(engine)
    knowledge = build_knowledge(settings, embedder)
    with make_sessionmaker(engine).begin() as session:
        report = knowledge.indexer.ingest([kb_dir], session=session)
    engine.dispose()
    assert not report.failed, report.failed
    return knowledge, build_assistant(settings, knowledge)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = FakeBotApi(TOKEN)
    await server.start()
    yield server
    await server.stop()


def bot_settings(tmp_path: Path, api: FakeBotApi, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "telegram_token": TOKEN,
        "telegram_base_url": api.base_url,
        "telegram_base_file_url": api.base_file_url,
        "telegram_poll_timeout": 1,
        "telegram_outbox_interval": 0.2,
        "telegram_privacy_url": "https://sportello.example.org/privacy",
    }
    values.update(overrides)
    return make_settings(tmp_path, **values)


@pytest.fixture
def settings(tmp_path: Path, api: FakeBotApi) -> Settings:
    return bot_settings(tmp_path, api)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def services(
    settings: Settings, engine: Engine, bot_kb: tuple[KnowledgeBase, Assistant]
) -> Services:
    """A fresh database per test, the shared knowledge base and assistant."""
    knowledge, assistant = bot_kb
    clock = FrozenClock(NOW)
    sessions = make_sessionmaker(engine, clock)
    return Services(
        settings=settings,
        clock=clock,
        engine=engine,
        sessions=sessions,
        knowledge=knowledge,
        assistant=assistant,
    )


@pytest.fixture
def world(services: Services) -> World:
    """Desks and experts (one of them on Telegram, chat 777) with weekly opening hours."""
    with services.sessions.begin() as session:
        return build_world(session)
