"""Which messages each change queues, to whom, with which attachment (outbox rows)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from sportello.config import Settings
from sportello.desk import messages
from sportello.desk.ics import booking_ics, booking_uid
from sportello.desk.models import Booking, Expert, OutboxKind, Ticket
from sportello.desk.outbox import enqueue, expert_address, volunteer_address


def details(booking: Booking, tz: ZoneInfo) -> str:
    slot, ticket = booking.slot, booking.ticket
    return messages.appointment(
        ticket.code,
        messages.when(slot.starts_at, tz),
        slot.desk.name,
        slot.desk.location,
        slot.expert.name,
    )


def _calendar(booking: Booking, now: datetime, *, cancel: bool = False) -> dict[str, object]:
    return {
        "ticket_code": booking.ticket.code,
        "booking_uid": booking_uid(booking),
        "ics": booking_ics(booking, now=now, cancel=cancel),
        "ics_filename": f"{booking.ticket.code}.ics",
    }


def new_ticket(session: Session, ticket: Ticket, experts: list[Expert], now: datetime) -> None:
    text = messages.new_ticket(ticket.code, ticket.topic, ticket.summary)
    for expert in experts:
        enqueue(
            session,
            kind=OutboxKind.NEW_TICKET,
            address=expert_address(expert),
            text=text,
            ticket_id=ticket.id,
            payload={"ticket_code": ticket.code},
            now=now,
        )


def booked(session: Session, booking: Booking, settings: Settings, now: datetime) -> None:
    tz = ZoneInfo(settings.desk_timezone)
    info, calendar = details(booking, tz), _calendar(booking, now)
    enqueue(
        session,
        kind=OutboxKind.CONFIRMATION,
        address=volunteer_address(booking.ticket),
        text=messages.confirmation_volunteer(info, settings.desk_cancel_notice_hours),
        ticket_id=booking.ticket_id,
        booking_id=booking.id,
        payload=calendar,
        now=now,
    )
    enqueue(
        session,
        kind=OutboxKind.CONFIRMATION,
        address=expert_address(booking.slot.expert),
        text=messages.confirmation_expert(info, booking.ticket.summary),
        ticket_id=booking.ticket_id,
        booking_id=booking.id,
        payload=calendar,
        now=now,
    )


def rescheduled(
    session: Session, booking: Booking, previous_expert: Expert, settings: Settings, now: datetime
) -> None:
    tz = ZoneInfo(settings.desk_timezone)
    info, calendar = details(booking, tz), _calendar(booking, now)
    text = messages.rescheduled(info)
    enqueue(
        session,
        kind=OutboxKind.RESCHEDULED,
        address=volunteer_address(booking.ticket),
        text=text,
        ticket_id=booking.ticket_id,
        booking_id=booking.id,
        payload=calendar,
        now=now,
    )
    expert = booking.slot.expert
    if expert.id == previous_expert.id:
        enqueue(
            session,
            kind=OutboxKind.RESCHEDULED,
            address=expert_address(expert),
            text=text,
            ticket_id=booking.ticket_id,
            booking_id=booking.id,
            payload=calendar,
            now=now,
        )
        return
    # Another expert takes over: the first one loses the event, the new one gains it.
    enqueue(
        session,
        kind=OutboxKind.CANCELLATION,
        address=expert_address(previous_expert),
        text=messages.cancellation(info, "appuntamento spostato a un altro esperto"),
        ticket_id=booking.ticket_id,
        booking_id=booking.id,
        now=now,
    )
    enqueue(
        session,
        kind=OutboxKind.CONFIRMATION,
        address=expert_address(expert),
        text=messages.confirmation_expert(info, booking.ticket.summary),
        ticket_id=booking.ticket_id,
        booking_id=booking.id,
        payload=calendar,
        now=now,
    )


def cancelled(
    session: Session, booking: Booking, reason: str | None, settings: Settings, now: datetime
) -> None:
    tz = ZoneInfo(settings.desk_timezone)
    text = messages.cancellation(details(booking, tz), reason)
    calendar = _calendar(booking, now, cancel=True)
    for address in (volunteer_address(booking.ticket), expert_address(booking.slot.expert)):
        enqueue(
            session,
            kind=OutboxKind.CANCELLATION,
            address=address,
            text=text,
            ticket_id=booking.ticket_id,
            booking_id=booking.id,
            payload=calendar,
            now=now,
        )


def replied(session: Session, ticket: Ticket, expert: Expert, text: str, now: datetime) -> None:
    enqueue(
        session,
        kind=OutboxKind.EXPERT_REPLY,
        address=volunteer_address(ticket),
        text=messages.expert_reply(ticket.code, expert.name, text),
        ticket_id=ticket.id,
        payload={"ticket_code": ticket.code, "expert": expert.name},
        now=now,
    )


def closed(session: Session, ticket: Ticket, now: datetime) -> None:
    enqueue(
        session,
        kind=OutboxKind.CLOSED,
        address=volunteer_address(ticket),
        text=messages.closed(ticket.code, ticket.outcome or ""),
        ticket_id=ticket.id,
        payload={"ticket_code": ticket.code},
        now=now,
    )


def ticket_cancelled(session: Session, ticket: Ticket, now: datetime) -> None:
    enqueue(
        session,
        kind=OutboxKind.CANCELLATION,
        address=volunteer_address(ticket),
        text=messages.ticket_cancelled(ticket.code),
        ticket_id=ticket.id,
        payload={"ticket_code": ticket.code},
        now=now,
    )
