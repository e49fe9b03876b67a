"""Every SQL statement of notifications: the outbox and the digests' reads."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, joinedload, selectinload

from sportello.desk.models import (
    Booking,
    BookingStatus,
    Expert,
    OutboxMessage,
    OutboxStatus,
    Slot,
    Ticket,
    TicketStatus,
)
from sportello.desk.queries import core_insert, rowcount


def experts_with_email(session: Session) -> list[Expert]:
    """Active experts who gave an e-mail address (digests, agendas), with their topics."""
    stmt = (
        select(Expert)
        .where(Expert.active.is_(True), Expert.email.is_not(None), Expert.email != "")
        .options(selectinload(Expert.topics))
        .order_by(Expert.id)
    )
    return list(session.scalars(stmt))


def new_tickets_between(
    session: Session, topics: Collection[str], after: datetime, until: datetime
) -> list[Ticket]:
    """Tickets still waiting for an expert, on `topics`, opened in [after, until)."""
    if not topics:
        return []
    stmt = (
        select(Ticket)
        .where(
            Ticket.status == TicketStatus.NEW,
            Ticket.topic.in_(list(topics)),
            Ticket.created_at >= after,
            Ticket.created_at < until,
        )
        .order_by(Ticket.created_at, Ticket.id)
    )
    return list(session.scalars(stmt))


def expert_bookings_between(
    session: Session, expert_id: int, after: datetime, until: datetime
) -> list[Booking]:
    """An expert's active appointments starting in [after, until), in time order."""
    stmt = (
        select(Booking)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(
            Booking.status == BookingStatus.ACTIVE,
            Slot.expert_id == expert_id,
            Slot.starts_at >= after,
            Slot.starts_at < until,
        )
        .options(joinedload(Booking.ticket), joinedload(Booking.slot).joinedload(Slot.desk))
        .order_by(Slot.starts_at)
    )
    return list(session.scalars(stmt).unique())


# --- outbox -----------------------------------------------------------------------------------


def insert_outbox_once(session: Session, row: Mapping[str, Any]) -> bool:
    """Insert unless a row with the same idempotency key exists; True if inserted."""
    stmt = (
        core_insert(session, OutboxMessage)
        .values(**row)
        .on_conflict_do_nothing(  # type: ignore[attr-defined]
            index_elements=["idempotency_key"]
        )
    )
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING here.
    result = session.connection().execute(stmt.returning(OutboxMessage.__table__.c.id))
    return result.first() is not None


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.available_at <= now),
        # A claim whose lease ran out: the sender crashed or hung between send and mark.
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now),
    )


def claim_outbox(
    session: Session,
    *,
    now: datetime,
    lease_until: datetime,
    token: str,
    limit: int,
    channels: Collection[str] | None,
    skip_ids: Iterable[int] = (),
) -> list[OutboxMessage]:
    """Claim up to `limit` deliverable rows with a conditional UPDATE each (one winner per row)."""
    candidates = select(OutboxMessage.id).where(_claimable(now)).order_by(OutboxMessage.id)
    if channels is not None:
        candidates = candidates.where(OutboxMessage.channel.in_(list(channels)))
    skip = list(skip_ids)
    if skip:
        candidates = candidates.where(OutboxMessage.id.not_in(skip))
    claimed: list[int] = []
    for row_id in session.scalars(candidates.limit(limit)):
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, _claimable(now))
            .values(
                status=OutboxStatus.SENDING,
                claim_token=token,
                claimed_until=lease_until,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            claimed.append(row_id)
    if not claimed:
        return []
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)
        )
    )


def finish_outbox(session: Session, row_id: int, token: str, values: Mapping[str, Any]) -> bool:
    """Record the outcome of a claim, unless the claim was lost (lease expired, re-claimed)."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row_id,
            OutboxMessage.claim_token == token,
            OutboxMessage.status == OutboxStatus.SENDING,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def outbox_rows(
    session: Session, *, ticket_id: int | None = None, status: OutboxStatus | None = None
) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if ticket_id is not None:
        stmt = stmt.where(OutboxMessage.ticket_id == ticket_id)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    return list(session.scalars(stmt))


def outbox_backlog(session: Session) -> list[tuple[str, int]]:
    """(channel, messages not delivered yet: pending or being sent), for the metrics gauge."""
    rows = session.execute(
        select(OutboxMessage.channel, func.count())
        .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        .group_by(OutboxMessage.channel)
    ).tuples()
    return [(str(channel), int(count)) for channel, count in rows]
