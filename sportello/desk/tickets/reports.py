"""The console's reads (queue, one ticket, agendas) and the staff dashboard's desk figures."""

from __future__ import annotations

import statistics
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from sportello.desk.models import (
    Booking,
    BookingStatus,
    EventKind,
    Expert,
    HelpDesk,
    OutboxMessage,
    OutboxStatus,
    Slot,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from sportello.errors import ErrorCode, SportelloError

OPEN_STATUSES = (
    TicketStatus.NEW,
    TicketStatus.ASSIGNED,
    TicketStatus.SCHEDULED,
    TicketStatus.ANSWERED,
)


def queue(
    *,
    session: Session,
    statuses: Collection[TicketStatus] | None = None,
    topic: str | None = None,
    desk_id: int | None = None,
    expert_id: int | None = None,
    limit: int = 200,
) -> list[Ticket]:
    """Tickets oldest first (who waited longest on top), with expert and bookings loaded.

    `desk_id` keeps tickets with an active appointment at that desk; `expert_id` ("mine")
    keeps the tickets assigned to that expert.
    """
    stmt = (
        select(Ticket)
        .options(
            joinedload(Ticket.assigned_expert),
            selectinload(Ticket.bookings).joinedload(Booking.slot).joinedload(Slot.desk),
        )
        .order_by(Ticket.created_at, Ticket.id)
        .limit(limit)
    )
    if statuses:
        stmt = stmt.where(Ticket.status.in_([TicketStatus(s) for s in statuses]))
    if topic:
        stmt = stmt.where(Ticket.topic == topic)
    if expert_id is not None:
        stmt = stmt.where(Ticket.assigned_expert_id == expert_id)
    if desk_id is not None:
        at_desk = (
            exists()
            .where(
                Booking.ticket_id == Ticket.id,
                Booking.status == BookingStatus.ACTIVE,
                Booking.slot_id == Slot.id,
                Slot.desk_id == desk_id,
            )
            .correlate(Ticket)
        )
        stmt = stmt.where(at_desk)
    return list(session.scalars(stmt).unique())


def ticket_detail(ticket_id: int, *, session: Session) -> Ticket:
    """One ticket with its history, appointments (slot, desk, expert) and expert loaded."""
    stmt = (
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .options(
            joinedload(Ticket.assigned_expert),
            selectinload(Ticket.events),
            selectinload(Ticket.bookings).joinedload(Booking.slot).joinedload(Slot.desk),
            selectinload(Ticket.bookings).joinedload(Booking.slot).joinedload(Slot.expert),
        )
    )
    ticket = session.scalar(stmt)
    if ticket is None:
        raise SportelloError(ErrorCode.NOT_FOUND, "Richiesta non trovata.")
    return ticket


def undelivered_emails(ticket_id: int, *, session: Session) -> int:
    """E-mails about the ticket the outbox gave up on (the console shows a warning)."""
    stmt = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.ticket_id == ticket_id,
        OutboxMessage.channel == "email",
        OutboxMessage.status == OutboxStatus.FAILED,
    )
    return int(session.scalar(stmt) or 0)


def tickets_of_conversation(conversation_id: int, *, session: Session) -> list[Ticket]:
    """The tickets opened from one conversation, newest first, with their appointments."""
    stmt = (
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id)
        .options(
            joinedload(Ticket.assigned_expert),
            selectinload(Ticket.bookings).joinedload(Booking.slot).joinedload(Slot.desk),
            selectinload(Ticket.bookings).joinedload(Booking.slot).joinedload(Slot.expert),
        )
        .order_by(Ticket.id.desc())
    )
    return list(session.scalars(stmt).unique())


def appointments(
    expert_id: int, *, session: Session, now: datetime, days: int = 14
) -> list[Booking]:
    """The expert's active appointments from now to `days` ahead, earliest first."""
    stmt = (
        select(Booking)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(
            Booking.status == BookingStatus.ACTIVE,
            Slot.expert_id == expert_id,
            Slot.ends_at > now,
            Slot.starts_at <= now + timedelta(days=days),
        )
        .options(
            joinedload(Booking.ticket),
            joinedload(Booking.slot).joinedload(Slot.desk),
        )
        .order_by(Slot.starts_at)
    )
    return list(session.scalars(stmt).unique())


def booking_detail(booking_id: int, *, session: Session) -> Booking:
    stmt = (
        select(Booking)
        .where(Booking.id == booking_id)
        .options(
            joinedload(Booking.ticket),
            joinedload(Booking.slot).joinedload(Slot.desk),
            joinedload(Booking.slot).joinedload(Slot.expert),
        )
    )
    booking = session.scalar(stmt)
    if booking is None:
        raise SportelloError(ErrorCode.NOT_FOUND, "Appuntamento non trovato.")
    return booking


def desks(*, session: Session) -> list[HelpDesk]:
    return list(
        session.scalars(select(HelpDesk).where(HelpDesk.active.is_(True)).order_by(HelpDesk.name))
    )


def get_expert(expert_id: int, *, session: Session) -> Expert | None:
    return session.get(Expert, expert_id, options=[selectinload(Expert.topics)])


def tickets_by_status(*, session: Session, since: datetime | None = None) -> dict[str, int]:
    """Every status (zero included) with how many tickets are in it."""
    stmt = select(Ticket.status, func.count()).group_by(Ticket.status)
    if since is not None:
        stmt = stmt.where(Ticket.created_at >= since)
    counts = {str(status): int(n) for status, n in session.execute(stmt)}
    return {s.value: counts.get(s.value, 0) for s in TicketStatus}


def first_reply_hours(*, session: Session, since: datetime | None = None) -> list[float]:
    """Hours from opening to the first written expert reply, one value per replied ticket."""
    first = (
        select(TicketEvent.ticket_id, func.min(TicketEvent.at).label("at"))
        .where(TicketEvent.kind == EventKind.REPLIED)
        .group_by(TicketEvent.ticket_id)
        .subquery()
    )
    stmt = select(Ticket.created_at, first.c.at).join(first, first.c.ticket_id == Ticket.id)
    if since is not None:
        stmt = stmt.where(Ticket.created_at >= since)
    hours = []
    for opened, replied in session.execute(stmt):
        # Aggregates bypass the UTCDateTime decorator on SQLite: normalise both ends.
        replied_at = _aware(replied)
        hours.append(max((replied_at - _aware(opened)).total_seconds(), 0.0) / 3600)
    return hours


def median_first_reply_hours(*, session: Session, since: datetime | None = None) -> float | None:
    values = first_reply_hours(session=session, since=since)
    return statistics.median(values) if values else None


def bookings_per_desk(*, session: Session, since: datetime | None = None) -> dict[str, int]:
    """Appointments booked (active or held, not cancelled) per desk name, every active desk."""
    stmt = (
        select(HelpDesk.name, func.count(Booking.id))
        .join(Slot, Slot.desk_id == HelpDesk.id)
        .join(Booking, Booking.slot_id == Slot.id)
        .where(Booking.status != BookingStatus.CANCELLED)
        .group_by(HelpDesk.name)
    )
    if since is not None:
        stmt = stmt.where(Booking.booked_at >= since)
    counts = {name: int(n) for name, n in session.execute(stmt)}
    names = session.scalars(select(HelpDesk.name).where(HelpDesk.active.is_(True)))
    return {name: counts.get(name, 0) for name in sorted({*names, *counts})}


@dataclass(frozen=True)
class ExpertReply:
    """A written expert answer that staff may turn into a knowledge-base FAQ."""

    event_id: int
    ticket_id: int
    ticket_code: str
    topic: str
    question: str
    answer: str
    expert_name: str
    at: datetime


def expert_replies(*, session: Session, limit: int = 100) -> list[ExpertReply]:
    """Most recent written replies first."""
    stmt = (
        select(TicketEvent, Ticket)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(TicketEvent.kind == EventKind.REPLIED)
        .order_by(TicketEvent.id.desc())
        .limit(limit)
    )
    rows = list(session.execute(stmt))
    expert_ids = {_expert_id(event.actor) for event, _ in rows} - {None}
    names = {
        e.id: e.name for e in session.scalars(select(Expert).where(Expert.id.in_(list(expert_ids))))
    }
    return [
        ExpertReply(
            event_id=event.id,
            ticket_id=ticket.id,
            ticket_code=ticket.code,
            topic=ticket.topic,
            question=ticket.summary,
            answer=str(event.detail.get("text", "")),
            expert_name=names.get(_expert_id(event.actor) or 0, event.actor),
            at=event.at,
        )
        for event, ticket in rows
    ]


def expert_reply(event_id: int, *, session: Session) -> ExpertReply | None:
    event = session.get(TicketEvent, event_id)
    if event is None or event.kind != EventKind.REPLIED:
        return None
    ticket = session.get(Ticket, event.ticket_id)
    assert ticket is not None
    expert = session.get(Expert, _expert_id(event.actor) or 0)
    return ExpertReply(
        event_id=event.id,
        ticket_id=ticket.id,
        ticket_code=ticket.code,
        topic=ticket.topic,
        question=ticket.summary,
        answer=str(event.detail.get("text", "")),
        expert_name=expert.name if expert else event.actor,
        at=event.at,
    )


def _expert_id(actor: str) -> int | None:
    kind, _, ref = actor.partition(":")
    return int(ref) if kind == "expert" and ref.isdigit() else None


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
