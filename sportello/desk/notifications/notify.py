"""Which messages each change queues, to whom, with which attachment (outbox rows)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from sportello.config import Settings
from sportello.desk.models import Booking, Expert, OutboxKind, Ticket, TicketStatus
from sportello.desk.notifications import messages
from sportello.desk.notifications.outbox import (
    EMAIL,
    Address,
    ExpertNews,
    enqueue,
    expert_addresses,
    volunteer_address,
    wants_email,
)
from sportello.desk.scheduling.ics import booking_ics, booking_uid


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


def _to_expert(
    session: Session,
    expert: Expert,
    news: ExpertNews,
    *,
    kind: OutboxKind,
    text: tuple[str, str],
    ticket: Ticket,
    booking_id: int | None = None,
    payload: dict[str, object] | None = None,
    now: datetime,
) -> None:
    """Queue one piece of news for an expert on each route they have for it."""
    values: dict[str, object] = {"ticket_code": ticket.code, "topic": ticket.topic}
    values["audience"] = "expert"
    values.update(payload or {})
    for address in expert_addresses(expert, news):
        enqueue(
            session,
            kind=kind,
            address=address,
            text=text,
            ticket_id=ticket.id,
            booking_id=booking_id,
            payload=values,
            now=now,
        )


def _to_volunteer(
    session: Session,
    ticket: Ticket,
    *,
    kind: OutboxKind,
    text: tuple[str, str],
    booking_id: int | None = None,
    payload: dict[str, object] | None = None,
    now: datetime,
) -> None:
    for address in volunteer_addresses(ticket):
        enqueue(
            session,
            kind=kind,
            address=address,
            text=text,
            ticket_id=ticket.id,
            booking_id=booking_id,
            payload={"ticket_code": ticket.code, **(payload or {})},
            now=now,
        )


def volunteer_addresses(ticket: Ticket) -> list[Address]:
    """Where the volunteer hears from the desk: the channel they wrote from. (Issue 17 item 3
    adds their optional e-mail address here, through `outbox.volunteer_email_address`.)"""
    return [volunteer_address(ticket)]


def new_ticket(session: Session, ticket: Ticket, experts: list[Expert], now: datetime) -> None:
    text = messages.new_ticket(ticket.code, ticket.topic, ticket.summary)
    for expert in experts:
        _to_expert(
            session,
            expert,
            ExpertNews.NEW_TICKET,
            kind=OutboxKind.NEW_TICKET,
            text=text,
            ticket=ticket,
            now=now,
        )


def volunteer_wrote(session: Session, ticket: Ticket, text: str, now: datetime) -> None:
    """The volunteer wrote again on a ticket an expert follows: tell that expert."""
    expert = ticket.assigned_expert
    if expert is None or ticket.status in (TicketStatus.CLOSED, TicketStatus.CANCELLED):
        return
    if not wants_email(expert, ExpertNews.MESSAGE):
        return  # an e-mail preference: Telegram experts see the chat in the console as before
    enqueue(
        session,
        kind=OutboxKind.VOLUNTEER_MESSAGE,
        address=(EMAIL, expert.email),
        text=messages.volunteer_wrote(ticket.code, text),
        ticket_id=ticket.id,
        payload={"ticket_code": ticket.code, "topic": ticket.topic, "audience": "expert"},
        now=now,
    )


def booked(session: Session, booking: Booking, settings: Settings, now: datetime) -> None:
    tz = ZoneInfo(settings.desk_timezone)
    info, calendar = details(booking, tz), _calendar(booking, now)
    _to_volunteer(
        session,
        booking.ticket,
        kind=OutboxKind.CONFIRMATION,
        text=messages.confirmation_volunteer(info, settings.desk_cancel_notice_hours),
        booking_id=booking.id,
        payload=calendar,
        now=now,
    )
    _to_expert(
        session,
        booking.slot.expert,
        ExpertNews.BOOKING,
        kind=OutboxKind.CONFIRMATION,
        text=messages.confirmation_expert(info, booking.ticket.summary),
        ticket=booking.ticket,
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
    _to_volunteer(
        session,
        booking.ticket,
        kind=OutboxKind.RESCHEDULED,
        text=text,
        booking_id=booking.id,
        payload=calendar,
        now=now,
    )
    expert = booking.slot.expert
    if expert.id == previous_expert.id:
        _to_expert(
            session,
            expert,
            ExpertNews.BOOKING,
            kind=OutboxKind.RESCHEDULED,
            text=text,
            ticket=booking.ticket,
            booking_id=booking.id,
            payload=calendar,
            now=now,
        )
        return
    # Another expert takes over: the first one loses the event, the new one gains it.
    _to_expert(
        session,
        previous_expert,
        ExpertNews.BOOKING,
        kind=OutboxKind.CANCELLATION,
        text=messages.cancellation(info, "appuntamento spostato a un altro esperto"),
        ticket=booking.ticket,
        booking_id=booking.id,
        now=now,
    )
    _to_expert(
        session,
        expert,
        ExpertNews.BOOKING,
        kind=OutboxKind.CONFIRMATION,
        text=messages.confirmation_expert(info, booking.ticket.summary),
        ticket=booking.ticket,
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
    _to_volunteer(
        session,
        booking.ticket,
        kind=OutboxKind.CANCELLATION,
        text=text,
        booking_id=booking.id,
        payload=calendar,
        now=now,
    )
    _to_expert(
        session,
        booking.slot.expert,
        ExpertNews.BOOKING,
        kind=OutboxKind.CANCELLATION,
        text=text,
        ticket=booking.ticket,
        booking_id=booking.id,
        payload=calendar,
        now=now,
    )


def replied(session: Session, ticket: Ticket, expert: Expert, text: str, now: datetime) -> None:
    _to_volunteer(
        session,
        ticket,
        kind=OutboxKind.EXPERT_REPLY,
        text=messages.expert_reply(ticket.code, expert.name, text),
        payload={"expert": expert.name},
        now=now,
    )


def closed(session: Session, ticket: Ticket, now: datetime) -> None:
    _to_volunteer(
        session,
        ticket,
        kind=OutboxKind.CLOSED,
        text=messages.closed(ticket.code, ticket.outcome or ""),
        now=now,
    )


def ticket_cancelled(session: Session, ticket: Ticket, now: datetime) -> None:
    _to_volunteer(
        session,
        ticket,
        kind=OutboxKind.CANCELLATION,
        text=messages.ticket_cancelled(ticket.code),
        now=now,
    )
