"""Reminders before an appointment (24 h and 1 h by default), queued through the outbox once.

Each offset owns a window: the 24 h reminder is due from 24 h before until the 1 h one takes
over, so a late run sends the nearer reminder instead of both. A reminder's idempotency key
names the booking, its SEQUENCE and the offset: re-running never queues it twice, and moving
the appointment (SEQUENCE + 1) arms fresh reminders for the new time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from sportello.clock import aware
from sportello.config import Settings
from sportello.desk.models import Booking, OutboxKind
from sportello.desk.notifications import messages, notify
from sportello.desk.notifications.outbox import (
    ExpertNews,
    enqueue_once,
    expert_addresses,
    volunteer_address,
)
from sportello.desk.scheduling import queries


def offsets(settings: Settings) -> list[int]:
    """Reminder offsets in hours, largest first, without duplicates or non-positive values."""
    return sorted({h for h in settings.desk_reminder_hours if h > 0}, reverse=True)


def due_offset(booking: Booking, hours: list[int], now: datetime) -> int | None:
    """The offset whose window `now` falls in, unless the booking was made after it opened."""
    remaining = booking.slot.starts_at - now
    for i, h in enumerate(hours):
        lower = timedelta(hours=hours[i + 1]) if i + 1 < len(hours) else timedelta(0)
        if lower < remaining <= timedelta(hours=h):
            # Booked (or moved) inside the window: the confirmation just said it all.
            opened = booking.slot.starts_at - timedelta(hours=h)
            return h if booking.booked_at < opened else None
    return None


def queue_due_reminders(*, session: Session, settings: Settings, now: datetime) -> int:
    """Queue every reminder due at `now` (volunteer and expert); returns how many were added."""
    moment = aware(now)
    hours = offsets(settings)
    if not hours:
        return 0
    tz = ZoneInfo(settings.desk_timezone)
    added = 0
    for booking in queries.bookings_starting_between(
        session, moment, moment + timedelta(hours=hours[0])
    ):
        h = due_offset(booking, hours, moment)
        if h is None:
            continue
        text = messages.reminder(h, notify.details(booking, tz))
        base = f"reminder:{booking.uid}:{booking.sequence}:{h}h"
        payload = {"ticket_code": booking.ticket.code, "hours_before": h}
        # The first route keeps the key it always had; a second one (e-mail) gets its own.
        routes = [(f"{base}:volunteer", "volunteer", volunteer_address(booking.ticket))]
        for i, address in enumerate(expert_addresses(booking.slot.expert, ExpertNews.BOOKING)):
            key = f"{base}:expert" if i == 0 else f"{base}:expert:{address[0]}"
            routes.append((key, "expert", address))
        for key, who, address in routes:
            added += enqueue_once(
                session,
                key=key,
                kind=OutboxKind.REMINDER,
                address=address,
                text=text,
                ticket_id=booking.ticket_id,
                booking_id=booking.id,
                payload={**payload, "audience": who, "topic": booking.ticket.topic},
                now=moment,
            )
    return added
