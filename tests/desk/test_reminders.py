"""Reminders 24 h and 1 h before, through the outbox, never twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.desk import scheduling
from sportello.desk.models import OutboxKind
from tests.desk.factory import NOW, World, first_offer, open_ticket, outbox


def reminders(session: Session) -> list[tuple[int, str]]:
    rows = [r for r in outbox(session) if r.kind == OutboxKind.REMINDER]
    return [(int(r.payload["hours_before"]), str(r.recipient)) for r in rows]  # type: ignore[call-overload]


def test_24h_and_1h_reminders_once(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings, after=NOW + timedelta(days=3))
        scheduling.book(ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW)
    start = offer.starts_at

    def run(at: timedelta) -> int:
        with sessions.begin() as s:
            return scheduling.queue_due_reminders(session=s, settings=db_settings, now=start - at)

    assert run(timedelta(hours=30)) == 0
    assert run(timedelta(hours=24)) == 2  # volunteer and expert
    assert run(timedelta(hours=23)) == 0  # never twice
    assert run(timedelta(hours=2)) == 0
    assert run(timedelta(minutes=59)) == 2
    assert run(timedelta(minutes=30)) == 0
    assert run(timedelta(minutes=-5)) == 0  # started: nothing more
    with sessions.begin() as s:
        assert sorted(reminders(s)) == [
            (1, "chat-1"),
            (1, "fisco@example.org"),
            (24, "chat-1"),
            (24, "fisco@example.org"),
        ]
        body = next(r.body for r in outbox(s) if r.kind == OutboxKind.REMINDER)
        assert body.startswith("Promemoria: tra 24 ore hai un appuntamento.")
        assert ticket.code in body


def test_late_booking_and_late_runner(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings, after=NOW + timedelta(days=3))
        booked_at = offer.starts_at - timedelta(hours=5)  # inside the 24 h window
        scheduling.book(ticket.id, offer.slot_id, session=s, settings=db_settings, now=booked_at)
        assert (
            scheduling.queue_due_reminders(
                session=s, settings=db_settings, now=offer.starts_at - timedelta(hours=4)
            )
            == 0
        )  # the confirmation was just sent; no "24 h" reminder
        # A runner that was down wakes up 20 minutes before: only the 1 h reminder.
        assert (
            scheduling.queue_due_reminders(
                session=s, settings=db_settings, now=offer.starts_at - timedelta(minutes=20)
            )
            == 2
        )
        assert {h for h, _ in reminders(s)} == {1}


def test_reschedule_rearms_and_cancel_silences(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings, expert_id=world.fiscal, after=NOW + timedelta(days=3))
        booking = scheduling.book(
            ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW
        )
        t24 = offer.starts_at - timedelta(hours=20)
        assert scheduling.queue_due_reminders(session=s, settings=db_settings, now=t24) == 2
        later = first_offer(
            s, db_settings, expert_id=world.fiscal, after=offer.starts_at + timedelta(days=2)
        )
        scheduling.reschedule(
            booking.id, later.slot_id, session=s, settings=db_settings, now=NOW + timedelta(hours=1)
        )
        # Same offset, new appointment: reminded again for the new time.
        t24_new = later.starts_at - timedelta(hours=20)
        assert scheduling.queue_due_reminders(session=s, settings=db_settings, now=t24_new) == 2
        assert scheduling.queue_due_reminders(session=s, settings=db_settings, now=t24_new) == 0
        scheduling.cancel(booking.id, session=s, settings=db_settings, now=t24_new)
        assert (
            scheduling.queue_due_reminders(
                session=s, settings=db_settings, now=later.starts_at - timedelta(minutes=30)
            )
            == 0
        )


def test_configurable_offsets(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    settings = db_settings.model_copy(update={"desk_reminder_hours": [48, 0, 48]})
    with sessions.begin() as s:
        ticket = open_ticket(s, settings)
        offer = first_offer(s, settings, after=NOW + timedelta(days=4))
        scheduling.book(ticket.id, offer.slot_id, session=s, settings=settings, now=NOW)
        at = offer.starts_at - timedelta(hours=1)
        assert scheduling.queue_due_reminders(session=s, settings=settings, now=at) == 2
        assert {h for h, _ in reminders(s)} == {48}
        none = db_settings.model_copy(update={"desk_reminder_hours": []})
        assert scheduling.queue_due_reminders(session=s, settings=none, now=at) == 0
