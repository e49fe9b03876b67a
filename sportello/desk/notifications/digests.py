"""The daily e-mails of an expert: the digest of new tickets and tomorrow's agenda.

A periodic job calls `queue_due_digests`; each expert gets at most one digest and one agenda
per desk-local day (the idempotency key names the expert and the day), from the hour they
chose. Several processes running the job at once, or a job running late, never queue twice.

These rows name no ticket in `ticket_id` (they cover several), so they carry nothing personal:
codes, topics, times and places only, with a link each. Erasure and retention, which clean
rows by ticket, have nothing to find in them; the expert reads the request in the console.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from sportello.clock import aware
from sportello.config import Settings
from sportello.desk.models import Expert, NewTicketMail, OutboxKind
from sportello.desk.notifications import messages, queries
from sportello.desk.notifications.outbox import EMAIL, enqueue_once


def _at(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """`hour` o'clock of a desk-local day, as an aware instant (DST handled by the zone)."""
    return datetime.combine(day, time(hour=hour), tzinfo=tz)


def queue_digest(session: Session, expert: Expert, local: datetime, tz: ZoneInfo) -> bool:
    """The day's digest of tickets opened in the 24 h before the expert's hour, if any."""
    today = local.date()
    until = _at(today, expert.email_digest_hour, tz)
    after = _at(today - timedelta(days=1), expert.email_digest_hour, tz)
    tickets = queries.new_tickets_between(session, expert.topic_names, after, until)
    if not tickets:
        return False
    items = [
        {
            "ticket_id": t.id,
            "code": t.code,
            "topic": messages.topic_label(t.topic),
        }
        for t in tickets
    ]
    lines = [f"{i['code']} ({i['topic']})" for i in items]
    return enqueue_once(
        session,
        key=f"digest:{expert.id}:{today.isoformat()}",
        kind=OutboxKind.DIGEST,
        address=(EMAIL, expert.email),
        text=messages.digest(lines),
        ticket_id=None,
        booking_id=None,
        payload={"audience": "expert", "items": items, "day": today.isoformat()},
        now=aware(local),
    )


def queue_agenda(session: Session, expert: Expert, local: datetime, tz: ZoneInfo) -> bool:
    """Tomorrow's appointments of the expert, if there are any."""
    today = local.date()
    tomorrow = today + timedelta(days=1)
    bookings = queries.expert_bookings_between(
        session, expert.id, _at(tomorrow, 0, tz), _at(tomorrow + timedelta(days=1), 0, tz)
    )
    if not bookings:
        return False
    items = [
        {
            "ticket_id": b.ticket.id,
            "code": b.ticket.code,
            "topic": messages.topic_label(b.ticket.topic),
            "when": messages.when(b.slot.starts_at, tz),
            "where": f"{b.slot.desk.name} — {b.slot.desk.location}".rstrip(" —"),
        }
        for b in bookings
    ]
    lines = [f"{i['when']} — {i['code']} ({i['topic']})\nDove: {i['where']}" for i in items]
    return enqueue_once(
        session,
        key=f"agenda:{expert.id}:{today.isoformat()}",
        kind=OutboxKind.AGENDA,
        address=(EMAIL, expert.email),
        text=messages.agenda(lines),
        ticket_id=None,
        booking_id=None,
        payload={"audience": "expert", "items": items, "day": tomorrow.isoformat()},
        now=aware(local),
    )


def queue_due_digests(*, session: Session, settings: Settings, now: datetime) -> int:
    """Queue every digest and agenda due at `now`; returns how many were added."""
    tz = ZoneInfo(settings.desk_timezone)
    local = aware(now).astimezone(tz)
    added = 0
    for expert in queries.experts_with_email(session):
        if (
            expert.email_new_tickets == NewTicketMail.DIGEST
            and local.hour >= expert.email_digest_hour
        ):
            added += queue_digest(session, expert, local, tz)
        if expert.email_agenda and local.hour >= expert.email_agenda_hour:
            added += queue_agenda(session, expert, local, tz)
    return added
