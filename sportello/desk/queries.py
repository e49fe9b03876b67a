"""SQL shared by the desk's subpackages: Core INSERT helpers, desks and experts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from sportello.desk.models import (
    AvailabilityException,
    AvailabilityRule,
    Expert,
    ExpertTopic,
    HelpDesk,
)


def core_insert(session: Session, model: type[Any]) -> Insert:
    """A Core INSERT (rowcount, no ORM bulk path) with ON CONFLICT support on both backends."""
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


def rowcount(result: Any) -> int:
    return int(result.rowcount)


def changed_row(session: Session, model: type[Any], pk: int, result: Any) -> bool:
    """True if the compare-and-set hit its row; then the loaded object is expired, so it is
    read again on next use (and a rolled-back SAVEPOINT leaves nothing stale in memory)."""
    if rowcount(result) != 1:
        return False
    loaded = session.identity_map.get(session.identity_key(model, pk))
    if loaded is not None:
        session.expire(loaded)
    return True


# --- desks and experts -----------------------------------------------------------------------


def count_desks(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(HelpDesk)) or 0


def desk_by_slug(session: Session, slug: str) -> HelpDesk | None:
    return session.scalar(select(HelpDesk).where(HelpDesk.slug == slug))


def expert_by_slug(session: Session, slug: str) -> Expert | None:
    return session.scalar(
        select(Expert).where(Expert.slug == slug).options(selectinload(Expert.topics))
    )


def get_expert(session: Session, expert_id: int) -> Expert | None:
    return session.get(Expert, expert_id)


def experts_covering(session: Session, topic: str) -> list[Expert]:
    """Active experts who list `topic`, by name."""
    stmt = (
        select(Expert)
        .join(ExpertTopic, ExpertTopic.expert_id == Expert.id)
        .where(ExpertTopic.topic == topic, Expert.active.is_(True))
        .order_by(Expert.name, Expert.id)
    )
    return list(session.scalars(stmt))


def expert_ids_covering(session: Session, topic: str) -> list[int]:
    stmt = (
        select(Expert.id)
        .join(ExpertTopic, ExpertTopic.expert_id == Expert.id)
        .where(ExpertTopic.topic == topic, Expert.active.is_(True))
        .order_by(Expert.id)
    )
    return list(session.scalars(stmt))


def delete_rules_of(session: Session, expert_id: int) -> None:
    session.execute(delete(AvailabilityRule).where(AvailabilityRule.expert_id == expert_id))


def exception_exists(session: Session, exc: AvailabilityException) -> bool:
    stmt = select(AvailabilityException.id).where(
        AvailabilityException.first_day == exc.first_day,
        AvailabilityException.last_day == exc.last_day,
        _same_or_null(AvailabilityException.desk_id, exc.desk_id),
        _same_or_null(AvailabilityException.expert_id, exc.expert_id),
    )
    return session.scalar(stmt) is not None


def _same_or_null(column: Any, value: int | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def expert_by_chat(session: Session, chat_ref: str) -> Expert | None:
    """The active expert who linked this Telegram chat."""
    return session.scalar(
        select(Expert).where(Expert.telegram_chat_id == chat_ref, Expert.active.is_(True))
    )
