"""The experts' console pages: the queue, a ticket, my appointments, my availability."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from sportello.accounts.service import Principal
from sportello.channels.web import security
from sportello.channels.web.templating import page
from sportello.errors import ErrorCode, SportelloError
from sportello.usecases import console as ops

router = APIRouter(
    prefix="/console", include_in_schema=False, dependencies=[Depends(security.console_guard)]
)
Who = Depends(security.console_guard)


def _day(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SportelloError(ErrorCode.INVALID_INPUT, "bad_date", value=value) from None


def _back(url: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?ok={notice}", status_code=303)


@router.get("")
def queue_page(
    request: Request,
    who: Principal = Who,
    topic: str = Query("", max_length=40),
    status: str = Query("open", max_length=20),
    desk: str = Query("", max_length=10),
    mine: bool = False,
) -> Response:
    """The queue of requests, oldest first, with filters."""
    filters = ops.QueueFilters(
        topic=topic or None,
        status=status,
        desk_id=int(desk) if desk.isdigit() else None,
        mine=mine and who.expert_id is not None,
    )
    view = ops.queue_view(security.services(request), who, filters)
    return page(request, "console/queue.html", {"view": view})


@router.get("/tickets/{ticket_id}")
def ticket_page(request: Request, ticket_id: int, who: Principal = Who) -> Response:
    """One request: transcript with the bot's cited answers, history, notes and actions."""
    view = ops.ticket_page(security.services(request), who, ticket_id)
    return page(request, "console/ticket.html", {"view": view})


@router.post("/tickets/{ticket_id}/claim")
def claim(request: Request, ticket_id: int, who: Principal = Who) -> Response:
    """Take the request on."""
    ops.claim(security.services(request), who, ticket_id)
    return _back(f"/console/tickets/{ticket_id}", "claimed")


@router.post("/tickets/{ticket_id}/reply")
def reply(
    request: Request, ticket_id: int, text: str = Form(..., max_length=8000), who: Principal = Who
) -> Response:
    """Answer in writing; the outbox delivers it to the volunteer's channel."""
    ops.reply(security.services(request), who, ticket_id, text)
    return _back(f"/console/tickets/{ticket_id}", "replied")


@router.post("/tickets/{ticket_id}/notes")
def note(
    request: Request, ticket_id: int, text: str = Form(..., max_length=4000), who: Principal = Who
) -> Response:
    """Add an internal note (never shown to the volunteer)."""
    ops.add_note(security.services(request), who, ticket_id, text)
    return _back(f"/console/tickets/{ticket_id}", "noted")


@router.post("/tickets/{ticket_id}/close")
def close(
    request: Request,
    ticket_id: int,
    outcome: str = Form(..., max_length=2000),
    who: Principal = Who,
) -> Response:
    """Close with an outcome."""
    ops.close(security.services(request), who, ticket_id, outcome)
    return _back(f"/console/tickets/{ticket_id}", "closed")


@router.post("/tickets/{ticket_id}/cancel")
def cancel(
    request: Request, ticket_id: int, reason: str = Form("", max_length=500), who: Principal = Who
) -> Response:
    """Cancel the request (and its appointment, if any)."""
    ops.cancel(security.services(request), who, ticket_id, reason)
    return _back(f"/console/tickets/{ticket_id}", "cancelled")


@router.post("/bookings/{booking_id}/cancel")
def unbook(
    request: Request,
    booking_id: int,
    reason: str = Form("", max_length=500),
    who: Principal = Who,
) -> Response:
    """Cancel an appointment; the ticket stays open with its expert."""
    view = ops.unbook(security.services(request), who, booking_id, reason)
    return _back(f"/console/tickets/{view.ticket_id}", "unbooked")


@router.get("/bookings/{booking_id}.ics")
def booking_ics(request: Request, booking_id: int, who: Principal = Who) -> Response:
    """The appointment as a calendar event."""
    name, text = ops.ics(security.services(request), who, booking_id)
    return Response(
        text,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/appointments")
def appointments(request: Request, who: Principal = Who) -> Response:
    """My appointments in the next two weeks."""
    rows = ops.appointments(security.services(request), who)
    return page(request, "console/appointments.html", {"rows": rows, "days": ops.AGENDA_DAYS})


@router.get("/availability")
def availability(request: Request, who: Principal = Who) -> Response:
    """My weekly opening hours and absences."""
    view = ops.availability_view(security.services(request), who)
    return page(request, "console/availability.html", {"view": view})


@router.post("/availability/rules")
def add_rule(
    request: Request,
    start: Annotated[time, Form()],
    end: Annotated[time, Form()],
    desk_id: int = Form(...),
    weekday: int = Form(..., ge=0, le=6),
    slot_minutes: int = Form(30, ge=10, le=240),
    who: Principal = Who,
) -> Response:
    """Add a weekly opening."""
    ops.add_rule(
        security.services(request),
        who,
        desk_id=desk_id,
        weekday=weekday,
        start=start,
        end=end,
        slot_minutes=slot_minutes,
    )
    return _back("/console/availability", "rule_added")


@router.post("/availability/rules/{rule_id}/delete")
def delete_rule(request: Request, rule_id: int, who: Principal = Who) -> Response:
    """Remove a weekly opening."""
    ops.delete_rule(security.services(request), who, rule_id)
    return _back("/console/availability", "rule_deleted")


@router.post("/availability/absences")
def add_absence(
    request: Request,
    first_day: Annotated[date, Form()],
    last_day: str = Form(""),
    reason: str = Form("", max_length=200),
    who: Principal = Who,
) -> Response:
    """Record days off: their free slots are withdrawn."""
    ops.add_absence(
        security.services(request),
        who,
        first_day=first_day,
        last_day=_day(last_day),
        reason=reason,
    )
    return _back("/console/availability", "absence_added")


@router.post("/availability/absences/{absence_id}/delete")
def delete_absence(request: Request, absence_id: int, who: Principal = Who) -> Response:
    """Remove an absence."""
    ops.delete_absence(security.services(request), who, absence_id)
    return _back("/console/availability", "absence_deleted")
