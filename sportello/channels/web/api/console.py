"""The experts' console as JSON: queue, tickets, claim, reply, notes, close, agenda, availability."""

from __future__ import annotations

from datetime import date, time

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from sportello.accounts.service import Principal
from sportello.channels.web import security
from sportello.usecases import console as ops
from sportello.usecases import views

router = APIRouter(
    prefix="/api/console", tags=["console"], dependencies=[Depends(security.console_guard)]
)
Who = Depends(security.console_guard)


class Text(BaseModel):
    text: str = Field(..., min_length=1, max_length=8000)


class Outcome(BaseModel):
    outcome: str = Field(..., min_length=1, max_length=2000)


class Reason(BaseModel):
    reason: str = Field("", max_length=500)


class RuleIn(BaseModel):
    desk_id: int
    weekday: int = Field(..., ge=0, le=6, description="0 = lunedì")
    start: time
    end: time
    slot_minutes: int = Field(30, ge=10, le=240)


class AbsenceIn(BaseModel):
    first_day: date
    last_day: date | None = None
    reason: str = Field("", max_length=200)


@router.get("/tickets")
def tickets(
    request: Request,
    who: Principal = Who,
    topic: str | None = Query(None, max_length=40),
    status: str = Query("open", max_length=20, description="open, all, or a ticket status"),
    desk_id: int | None = None,
    mine: bool = False,
) -> ops.QueueView:
    """The queue, oldest first; filter by topic, status, desk (appointment there) or mine."""
    filters = ops.QueueFilters(topic=topic, status=status, desk_id=desk_id, mine=mine)
    return ops.queue_view(security.services(request), who, filters)


@router.get("/tickets/{ticket_id}")
def ticket(request: Request, ticket_id: int, who: Principal = Who) -> ops.TicketPage:
    """A ticket with transcript, cited answers, history, notes and what you may do."""
    return ops.ticket_page(security.services(request), who, ticket_id)


@router.post("/tickets/{ticket_id}/claim")
def claim(request: Request, ticket_id: int, who: Principal = Who) -> views.TicketRow:
    """Take the ticket on (409 if a colleague was faster)."""
    return ops.claim(security.services(request), who, ticket_id)


@router.post("/tickets/{ticket_id}/reply")
def reply(request: Request, ticket_id: int, body: Text, who: Principal = Who) -> views.TicketRow:
    """Answer in writing: queued in the outbox to the volunteer's channel."""
    return ops.reply(security.services(request), who, ticket_id, body.text)


@router.post("/tickets/{ticket_id}/notes")
def note(request: Request, ticket_id: int, body: Text, who: Principal = Who) -> views.NoteView:
    """Add an internal note."""
    return ops.add_note(security.services(request), who, ticket_id, body.text)


@router.post("/tickets/{ticket_id}/close")
def close(request: Request, ticket_id: int, body: Outcome, who: Principal = Who) -> views.TicketRow:
    """Close the ticket with its outcome."""
    return ops.close(security.services(request), who, ticket_id, body.outcome)


@router.post("/tickets/{ticket_id}/cancel")
def cancel(request: Request, ticket_id: int, body: Reason, who: Principal = Who) -> views.TicketRow:
    """Cancel the ticket (and its appointment)."""
    return ops.cancel(security.services(request), who, ticket_id, body.reason)


@router.post("/bookings/{booking_id}/cancel")
def unbook(
    request: Request, booking_id: int, body: Reason, who: Principal = Who
) -> views.AppointmentView:
    """Cancel an appointment; the ticket stays open."""
    return ops.unbook(security.services(request), who, booking_id, body.reason)


@router.get("/bookings/{booking_id}.ics")
def booking_ics(request: Request, booking_id: int, who: Principal = Who) -> Response:
    """The appointment as an iCalendar file."""
    name, text = ops.ics(security.services(request), who, booking_id)
    return Response(
        text,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/appointments")
def appointments(request: Request, who: Principal = Who) -> list[views.AppointmentView]:
    """My appointments in the next 14 days."""
    return ops.appointments(security.services(request), who)


@router.get("/availability")
def availability(request: Request, who: Principal = Who) -> ops.AvailabilityView:
    """My weekly rules and absences."""
    return ops.availability_view(security.services(request), who)


@router.post("/availability/rules")
def add_rule(request: Request, body: RuleIn, who: Principal = Who) -> ops.AvailabilityView:
    """Add a weekly opening; its slots become bookable."""
    svc = security.services(request)
    ops.add_rule(
        svc,
        who,
        desk_id=body.desk_id,
        weekday=body.weekday,
        start=body.start,
        end=body.end,
        slot_minutes=body.slot_minutes,
    )
    return ops.availability_view(svc, who)


@router.delete("/availability/rules/{rule_id}")
def delete_rule(request: Request, rule_id: int, who: Principal = Who) -> ops.AvailabilityView:
    """Remove a weekly opening."""
    svc = security.services(request)
    ops.delete_rule(svc, who, rule_id)
    return ops.availability_view(svc, who)


@router.post("/availability/absences")
def add_absence(request: Request, body: AbsenceIn, who: Principal = Who) -> ops.AvailabilityView:
    """Record days off."""
    svc = security.services(request)
    ops.add_absence(svc, who, first_day=body.first_day, last_day=body.last_day, reason=body.reason)
    return ops.availability_view(svc, who)


@router.delete("/availability/absences/{absence_id}")
def delete_absence(request: Request, absence_id: int, who: Principal = Who) -> ops.AvailabilityView:
    """Remove an absence."""
    svc = security.services(request)
    ops.delete_absence(svc, who, absence_id)
    return ops.availability_view(svc, who)
