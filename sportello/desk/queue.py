"""What the experts' console reads: the filtered queue, one ticket in full, an agenda."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, joinedload, selectinload

from sportello.desk import queries
from sportello.desk.models import (
    Booking,
    BookingStatus,
    Expert,
    HelpDesk,
    Slot,
    Ticket,
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
    return queries.failed_email_count(session, ticket_id)


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
