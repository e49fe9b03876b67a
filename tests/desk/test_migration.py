"""The 0003 migration creates exactly what the models declare, and steps back cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from sportello.db.migrate import downgrade, upgrade
from sportello.desk import models
from sportello.models import Base

DESK_TABLES = {
    "help_desks",
    "experts",
    "expert_topics",
    "availability_rules",
    "availability_exceptions",
    "slots",
    "tickets",
    "ticket_counters",
    "ticket_events",
    "bookings",
    "outbox",
}


def test_desk_tables_match_models(engine: Engine) -> None:
    assert {t for t in Base.metadata.tables if t in DESK_TABLES} == DESK_TABLES
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    ours = [d for d in diff if DESK_TABLES & set(_tables(d))]
    assert ours == []
    indexes = {i["name"]: i for i in inspect(engine).get_indexes("bookings")}
    assert indexes["uq_bookings_active_slot"]["unique"]
    assert indexes["uq_bookings_active_ticket"]["unique"]
    assert models.Booking.__table__.name == "bookings"


def test_downgrade_and_upgrade(engine: Engine) -> None:
    downgrade(engine, "0002")
    assert not DESK_TABLES & set(inspect(engine).get_table_names())
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= DESK_TABLES


def _tables(diff: object) -> list[str]:
    """Table names mentioned by one autogenerate diff entry (tuples, nested for columns)."""
    names: list[str] = []
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item if isinstance(item, tuple) else [item]:
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            if isinstance(name, str):
                names.append(name)
            if table is not None:
                names.append(table.name)
    return names


def test_0007_keeps_citations_as_data_and_versions_the_handover(engine: Engine) -> None:
    """Old replies lose the appended "Fonti:" list (their citations column keeps the sources);
    a hand-over state written before the typed model gets its version."""
    from sqlalchemy import text

    downgrade(engine, "0005")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO conversations (id, public_id, channel, language, state, created_at,"
                " updated_at) VALUES (1, 'p1', 'web', 'it', :state, :at, :at)"
            ),
            {
                "state": '{"handover": {"step": "describe_case", "topic": "fiscale"}}',
                "at": "2026-01-01",
            },
        )
        rows = [
            (1, "Risposta.\n\nFonti:\n[1] Scheda › Sezione — https://x", '[{"number": 1}]'),
            (2, "Nessuna fonte.\n\nFonti:\nresta com'è", "[]"),
        ]
        for mid, body, cites in rows:
            conn.execute(
                text(
                    "INSERT INTO messages (id, conversation_id, role, text, citations, created_at)"
                    " VALUES (:id, 1, 'assistant', :text, :cites, :at)"
                ),
                {"id": mid, "text": body, "cites": cites, "at": "2026-01-01"},
            )
    upgrade(engine)
    with engine.connect() as conn:
        texts = dict(conn.execute(text("SELECT id, text FROM messages")).tuples().all())
        state = conn.execute(text("SELECT state FROM conversations")).scalar_one()
    assert texts == {1: "Risposta.", 2: "Nessuna fonte.\n\nFonti:\nresta com'è"}
    assert '"version": 1' in state if isinstance(state, str) else state["handover"]["version"] == 1
