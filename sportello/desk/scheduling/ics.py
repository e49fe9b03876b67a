"""The .ics of a booking: one stable UID per booking, SEQUENCE bumped on every change."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event, vCalAddress, vText

from sportello.desk.models import Booking, DeskKind
from sportello.desk.notifications import messages

PRODID = "-//Sportello Terzo settore//Sportello//IT"
UID_DOMAIN = "sportello"


def booking_uid(booking: Booking) -> str:
    """The event UID; never changes for a booking, so calendars replace instead of duplicating."""
    return f"booking-{booking.uid}@{UID_DOMAIN}"


def booking_ics(booking: Booking, *, now: datetime, cancel: bool = False) -> str:
    """The calendar for `booking` (METHOD:REQUEST), or its withdrawal (METHOD:CANCEL)."""
    slot, ticket = booking.slot, booking.ticket
    desk, expert = slot.desk, slot.expert

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if cancel else "REQUEST")

    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("sequence", booking.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.ends_at)
    event.add("summary", messages.calendar_title(ticket.code, ticket.topic))
    event.add("location", f"{desk.name} — {desk.location}" if desk.location else desk.name)
    event.add(
        "description",
        messages.calendar_description(ticket.code, expert.name, desk.name, ticket.summary),
    )
    if desk.kind == DeskKind.ONLINE and desk.meeting_link:
        event.add("url", desk.meeting_link)
    if "@" in expert.contact:
        organizer = vCalAddress(f"mailto:{expert.contact}")
        organizer.params["cn"] = vText(expert.name)
        event.add("organizer", organizer)
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    event.add("x-sportello-ticket", ticket.code)
    cal.add_component(event)
    return cal.to_ical().decode("utf-8")
