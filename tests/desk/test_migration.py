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
