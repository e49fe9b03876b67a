"""Every SQL statement of the tickets' rules: counters, reads, compare-and-set, notes."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, joinedload, selectinload

from sportello.db.base import UTCDateTime
from sportello.desk.models import (
    Ticket,
    TicketCounter,
    TicketNote,
    TicketStatus,
)
from sportello.desk.queries import changed_row, core_insert

# --- tickets -----------------------------------------------------------------------------------


def next_ticket_number(session: Session, year: int) -> int:
    """Bump and return the year's counter in one atomic upsert (concurrency-safe on both DBs)."""
    table = TicketCounter.__table__
    stmt = (
        core_insert(session, TicketCounter)
        .values(year=year, last=1)
        .on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["year"], set_={"last": table.c.last + 1}
        )
        .returning(table.c.last)
    )
    return int(session.connection().execute(stmt).scalar_one())


def get_ticket(session: Session, ticket_id: int) -> Ticket | None:
    return session.get(Ticket, ticket_id)


def get_ticket_by_code(session: Session, code: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.code == code))


def list_tickets(
    session: Session, *, statuses: Collection[TicketStatus] | None = None, limit: int = 100
) -> list[Ticket]:
    stmt = (
        select(Ticket)
        .options(joinedload(Ticket.assigned_expert), selectinload(Ticket.bookings))
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    if statuses:
        stmt = stmt.where(Ticket.status.in_(list(statuses)))
    return list(session.scalars(stmt))


def update_ticket_if(
    session: Session,
    ticket_id: int,
    *,
    statuses: Collection[TicketStatus],
    values: Mapping[str, Any],
    expert_free_or: int | None = None,
    unassigned: bool = False,
    assigned_at: datetime | None = None,
) -> bool:
    """Compare-and-set on a ticket: change it only if it is still in one of `statuses`.

    `unassigned` also requires no expert (claim); `expert_free_or` requires no expert or that
    one (book); `assigned_at` is recorded unless the ticket already has one. Exactly one of
    concurrent callers wins; the others see rowcount 0.
    """
    values = dict(values)
    if assigned_at is not None:
        values["assigned_at"] = func.coalesce(
            Ticket.assigned_at, literal(assigned_at, UTCDateTime())
        )
    stmt = (
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.status.in_(list(statuses)))
        .execution_options(synchronize_session=False)
    )
    if unassigned:
        stmt = stmt.where(Ticket.assigned_expert_id.is_(None))
    if expert_free_or is not None:
        stmt = stmt.where(
            or_(Ticket.assigned_expert_id.is_(None), Ticket.assigned_expert_id == expert_free_or)
        )
    return changed_row(session, Ticket, ticket_id, session.execute(stmt.values(**values)))


def notes_of(session: Session, ticket_id: int) -> list[TicketNote]:
    return list(
        session.scalars(
            select(TicketNote).where(TicketNote.ticket_id == ticket_id).order_by(TicketNote.id)
        )
    )
