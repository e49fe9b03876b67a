"""The bookkeeping tables on SQLite and PostgreSQL: migration, claim once, prune."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, event, inspect

from sportello.channels.telegram import queries, updates
from sportello.clock import FrozenClock
from sportello.config import Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import downgrade, upgrade
from sportello.models import Base
from sportello.services import Services
from sportello.usecases import limits

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


def test_an_update_is_claimed_and_counted_in_one_transaction(
    db: Engine, db_settings: Settings
) -> None:
    """The bot's guard: the update claimed and the chat's message counted against the rate
    limit in one transaction; a redelivery is not counted again; a refused update stays
    claimed (it was handled, by slowing the chat down)."""
    settings = db_settings.model_copy(update={"rate_limit_messages": 2})
    services = Services(
        settings=settings,
        clock=FrozenClock(NOW),
        engine=db,
        sessions=make_sessionmaker(db),
        knowledge=None,  # type: ignore[arg-type]  # the bookkeeping reads neither
        assistant=None,  # type: ignore[arg-type]
    )
    begun: list[object] = []

    def began(connection: object) -> None:
        begun.append(connection)

    event.listen(db, "begin", began)
    try:
        assert updates.claim_update(services, 1, "42")
        assert len(begun) == 1
        assert not updates.claim_update(services, 1, "42")  # a redelivery: not counted
        assert updates.claim_update(services, 2, "42")  # the 2nd of 2 allowed
        with pytest.raises(limits.RateLimited):
            updates.claim_update(services, 3, "42")
        assert updates.claim_update(services, 4, None)  # no chat: claimed, not counted
        assert len(begun) == 5
    finally:
        event.remove(db, "begin", began)
    with services.sessions.begin() as session:
        assert not queries.claim_update(session, 3, NOW)  # the refused update stays claimed
