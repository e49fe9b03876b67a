"""The bookkeeping tables on SQLite and PostgreSQL: migration, claim once, prune."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from sportello.channels.telegram import queries
from sportello.config import Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import downgrade, upgrade
from sportello.models import Base

TABLES = {"telegram_updates", "telegram_deliveries"}
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def db(db_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(db_settings)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_migration_matches_the_models_and_steps_back(db: Engine) -> None:
    with db.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert not [d for d in diff if any(t in str(d) for t in TABLES)]
    downgrade(db, "0004")
    assert not TABLES & set(inspect(db).get_table_names())
    upgrade(db)
    assert set(inspect(db).get_table_names()) >= TABLES


def test_an_update_is_claimed_once_and_old_ids_are_pruned(db: Engine) -> None:
    sessions = make_sessionmaker(db)
    with sessions.begin() as session:
        assert queries.claim_update(session, 7, NOW)
        assert not queries.claim_update(session, 7, NOW)
        queries.mark_part_sent(session, "key#0", NOW)
        queries.mark_part_sent(session, "key#0", NOW)  # harmless twice
    with sessions.begin() as session:
        assert not queries.claim_update(session, 7, NOW)
        assert queries.part_sent(session, "key#0") and not queries.part_sent(session, "key#1")
        queries.prune(session, NOW + timedelta(seconds=1))
    with sessions.begin() as session:
        assert queries.claim_update(session, 7, NOW) and not queries.part_sent(session, "key#0")
