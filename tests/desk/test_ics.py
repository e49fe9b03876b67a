"""The .ics of a booking, parsed back with icalendar: fields, stable UID, SEQUENCE, CANCEL."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar, Event
from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.desk import scheduling
from sportello.desk.models import OutboxKind
from sportello.desk.tickets.states import Actor
from tests.desk.factory import NOW, World, first_offer, open_ticket, outbox


def parse(ics: object) -> tuple[Calendar, Event]:
    cal = Calendar.from_ical(str(ics))
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == 1
    return cal, events[0]


def volunteer_ics(session: Session, ticket_id: int, kind: OutboxKind) -> object:
    rows = [r for r in outbox(session, ticket_id) if r.kind == kind and r.recipient == "chat-1"]
    return rows[-1].payload["ics"]


def test_ics_round_trip(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings, expert_id=world.fiscal, after=NOW + timedelta(days=3))
        booking = scheduling.book(
            ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW
        )

        cal, event = parse(volunteer_ics(s, ticket.id, OutboxKind.CONFIRMATION))
        assert str(cal["METHOD"]) == "REQUEST"
        uid = str(event["UID"])
        assert uid == f"booking-{booking.uid}@sportello"
        assert int(event["SEQUENCE"]) == 0
        assert event.decoded("DTSTART") == offer.starts_at
        assert event.decoded("DTEND") == offer.ends_at
        assert ticket.code in str(event["SUMMARY"])
        assert "Via di Esempio 1, ascoli" in str(event["LOCATION"])
        description = str(event["DESCRIPTION"])
        assert ticket.code in description and "Esperta fisco" in description
        assert str(event["ORGANIZER"]) == "mailto:fisco@example.org"
        assert str(event["STATUS"]) == "CONFIRMED"

        # Moved: same UID, SEQUENCE 1, new time, still a REQUEST (calendars replace it).
        later = first_offer(
            s, db_settings, expert_id=world.fiscal, after=offer.starts_at + timedelta(days=1)
        )
        scheduling.reschedule(booking.id, later.slot_id, session=s, settings=db_settings, now=NOW)
        cal, event = parse(volunteer_ics(s, ticket.id, OutboxKind.RESCHEDULED))
        assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
        assert event.decoded("DTSTART") == later.starts_at

        # Cancelled: METHOD:CANCEL, STATUS:CANCELLED, same UID, higher SEQUENCE.
        scheduling.cancel(booking.id, session=s, settings=db_settings, now=NOW)
        cal, event = parse(volunteer_ics(s, ticket.id, OutboxKind.CANCELLATION))
        assert str(cal["METHOD"]) == "CANCEL"
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 2


def test_online_desk_gives_the_link(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings, expert_id=world.fiscal_online)
        booking = scheduling.book(
            ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW
        )
        _, event = parse(scheduling.booking_ics(booking, now=NOW))
        assert "https://meet.example.org/online" in str(event["LOCATION"])
        assert str(event["URL"]) == "https://meet.example.org/online"
        # Staff cancellation of an online appointment also produces a CANCEL.
        scheduling.cancel(
            booking.id, session=s, settings=db_settings, now=NOW, actor=Actor.staff("x")
        )
        cal, _ = parse(scheduling.booking_ics(booking, now=NOW, cancel=True))
        assert str(cal["METHOD"]) == "CANCEL"
