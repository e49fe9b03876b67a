"""Declarative Base with a naming convention (Alembic names constraints predictably), UTC times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from sportello.clock import SystemClock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


CLOCK_OPTION = "sportello_clock"  # execution option carrying the application's Clock


def stamp(context: Any) -> datetime:
    """Column default for timestamps: `now()` of the clock the session's engine carries.

    `make_sessionmaker(engine, clock)` binds sessions to an engine with the clock in its
    execution options, so rows written through them are stamped by the application's clock
    (frozen in tests). Without one (a bare engine, e.g. in a migration), the real clock.
    """
    clock = context.execution_options.get(CLOCK_OPTION) if context is not None else None
    return (clock or SystemClock()).now()
