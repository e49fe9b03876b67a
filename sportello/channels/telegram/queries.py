"""SQL of the Telegram bookkeeping tables (claim an update once, remember sent parts, prune)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Insert, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from sportello.channels.telegram.models import TelegramDelivery, TelegramUpdate


def _insert(session: Session, model: type[Any]) -> Insert:
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


def claim_update(session: Session, update_id: int, now: datetime) -> bool:
    """Record the update as handled; False if it was already (a redelivery)."""
    table = TelegramUpdate.__table__
    stmt = (
        _insert(session, TelegramUpdate)
        .values(update_id=update_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["update_id"])  # type: ignore[attr-defined]
        .returning(table.c.update_id)
    )
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
    return session.connection().execute(stmt).first() is not None


def part_sent(session: Session, part_key: str) -> bool:
    return (
        session.scalar(
            select(TelegramDelivery.part_key).where(TelegramDelivery.part_key == part_key)
        )
        is not None
    )


def mark_part_sent(session: Session, part_key: str, now: datetime) -> None:
    stmt = (
        _insert(session, TelegramDelivery)
        .values(part_key=part_key, sent_at=now)
        .on_conflict_do_nothing(index_elements=["part_key"])  # type: ignore[attr-defined]
    )
    session.execute(stmt)


def prune(session: Session, before: datetime) -> None:
    """Forget ids older than `before` (Telegram stops redelivering after about a day)."""
    session.execute(delete(TelegramUpdate).where(TelegramUpdate.received_at < before))
    session.execute(delete(TelegramDelivery).where(TelegramDelivery.sent_at < before))
