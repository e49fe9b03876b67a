"""The 0006 migration creates what the intent-example model declares; the queries round-trip."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from sportello.answering import queries
from sportello.answering.intents import Intent
from sportello.db.migrate import downgrade, upgrade
from sportello.models import Base


def test_table_matches_the_model(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert [d for d in diff if "intent_examples" in repr(d)] == []


def test_downgrade_and_upgrade(engine: Engine) -> None:
    downgrade(engine, "0005")
    assert "intent_examples" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "intent_examples" in inspect(engine).get_table_names()


def test_examples_round_trip_and_generation(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        assert queries.stored_examples(session=session) == ("0:0", [])
        row = queries.add_example(
            session=session, intent=Intent.WRONGDOING, text="  finte   ricevute? ", created_by=1
        )
    with sessions.begin() as session:
        generation, examples = queries.stored_examples(session=session)
        assert generation == f"1:{row.id}"
        assert [(e.id, e.intent, e.text) for e in examples] == [
            (f"db-{row.id}", Intent.WRONGDOING, "finte ricevute?")
        ]
        assert queries.remove_example(session=session, example_id=row.id)
        assert not queries.remove_example(session=session, example_id=row.id)
    with sessions.begin() as session:
        assert queries.generation(session=session) == "0:0"
