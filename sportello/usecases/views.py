"""Plain view models (pydantic) built inside a transaction: pages and the JSON API share them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from sportello.conversations.models import Message
from sportello.desk import scheduling
from sportello.desk.models import (
    AvailabilityRule,
    Booking,
    BookingStatus,
    Ticket,
    TicketEvent,
    TicketNote,
)


class AppointmentView(BaseModel):
    booking_id: int
    ticket_id: int
    ticket_code: str
    status: str
    starts_at: datetime
    ends_at: datetime
    desk_name: str
    desk_kind: str
    location: str
    expert_name: str
    summary: str = ""
    topic: str = ""


class TicketRow(BaseModel):
    id: int
    code: str
    status: str
    topic: str
    summary: str
    channel: str
    created_at: datetime
    updated_at: datetime
    assigned_expert_id: int | None
    assigned_expert_name: str | None
    outcome: str | None
    appointment: AppointmentView | None = None


class MessageView(BaseModel):
    id: int
    role: str
    text: str
    action: str | None
    confidence: float | None
    topic: str | None
    citations: list[dict[str, Any]]
    created_at: datetime
    feedback: int | None = None
    offer_expert: bool = False


class EventView(BaseModel):
    at: datetime
    actor: str
    kind: str
    detail: dict[str, Any]


class NoteView(BaseModel):
    id: int
    author: str
    text: str
    created_at: datetime


class RuleView(BaseModel):
    id: int
    desk_id: int
    desk_name: str
    weekday: int
    weekday_label: str
    start: str
    end: str
    slot_minutes: int


class AbsenceView(BaseModel):
    id: int
    first_day: date
    last_day: date
    reason: str


def appointment(booking: Booking) -> AppointmentView:
    slot, ticket = booking.slot, booking.ticket
    return AppointmentView(
        booking_id=booking.id,
        ticket_id=booking.ticket_id,
        ticket_code=ticket.code,
        status=str(booking.status),
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        desk_name=slot.desk.name,
        desk_kind=str(slot.desk.kind),
        location=slot.desk.location,
        expert_name=slot.expert.name,
        summary=ticket.summary,
        topic=ticket.topic,
    )


def active_booking(ticket: Ticket) -> Booking | None:
    return next((b for b in ticket.bookings if b.status == BookingStatus.ACTIVE), None)


def ticket_row(ticket: Ticket) -> TicketRow:
    booking = active_booking(ticket)
    return TicketRow(
        id=ticket.id,
        code=ticket.code,
        status=str(ticket.status),
        topic=ticket.topic,
        summary=ticket.summary,
        channel=ticket.channel,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        assigned_expert_id=ticket.assigned_expert_id,
        assigned_expert_name=ticket.assigned_expert.name if ticket.assigned_expert else None,
        outcome=ticket.outcome,
        appointment=appointment(booking) if booking is not None else None,
    )


def message(m: Message, feedback: int | None = None) -> MessageView:
    return MessageView(
        id=m.id,
        role=str(m.role),
        text=m.text,
        action=m.action,
        confidence=m.confidence,
        topic=m.topic,
        citations=list(m.citations or []),
        created_at=m.created_at,
        feedback=feedback,
        offer_expert=m.action in ("answer", "escalate"),  # as the assistant offers it
    )


def event(e: TicketEvent) -> EventView:
    return EventView(at=e.at, actor=e.actor, kind=str(e.kind), detail=dict(e.detail or {}))


def note(n: TicketNote) -> NoteView:
    return NoteView(id=n.id, author=n.author, text=n.text, created_at=n.created_at)


def rule(r: AvailabilityRule, desk_names: dict[int, str]) -> RuleView:
    """A weekly opening as the availability forms show it."""
    return RuleView(
        id=r.id,
        desk_id=r.desk_id,
        desk_name=desk_names.get(r.desk_id, f"#{r.desk_id}"),
        weekday=r.weekday,
        weekday_label=scheduling.WEEKDAY_LABELS[r.weekday],
        start=r.start_time.strftime("%H:%M"),
        end=r.end_time.strftime("%H:%M"),
        slot_minutes=r.slot_minutes,
    )
