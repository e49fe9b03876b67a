"""The desk at the instants that break calendars: late Friday, Monday before opening, Sunday,
New Year's Eve, both daylight-saving changes in Rome (and the Saturday before each), 29 February.

At each instant, with the clock frozen there: slots are offered only on the opening hours'
wall-clock grid, never in the past nor inside the cancellation cut-off; a slot is booked once;
ticket codes carry the local year; the 24 h and 1 h reminders fall due at the right moment
and name the appointment's local time; a volunteer may cancel before the cut-off and not after;
the retention purge keeps what is younger than its window and drops what is older.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sportello.clock import FrozenClock
from sportello.config import Settings
from sportello.conversations import service as conversations
from sportello.conversations.models import Channel
from sportello.desk import scheduling
from sportello.desk.errors import SlotTaken
from sportello.desk.models import Booking, BookingStatus, OutboxKind, OutboxMessage
from sportello.desk.notifications import messages
from sportello.desk.tickets.states import Actor
from sportello.errors import SportelloError
from sportello.privacy.retention import purge_expired
from tests.desk.factory import add_desk, add_expert, add_rule, open_ticket

ROME = ZoneInfo("Europe/Rome")
OPEN = (time(9, 0), time(12, 0))  # every day, 30-minute slots
NIGHT = (time(1, 30), time(3, 30))  # Sundays: the hours daylight saving skips or repeats


def rome(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ROME).replace(fold=fold)  # type: ignore[misc]


INSTANTS = {
    "monday-08:59": rome(2026, 12, 7, 8, 59),
    "friday-18:30": rome(2026, 12, 4, 18, 30),
    "sunday": rome(2026, 12, 6, 11, 0),
    "new-year's-eve-23:30": rome(2026, 12, 31, 23, 30),
    "saturday-before-dst-ends": rome(2026, 10, 24, 22, 0),
    "dst-ends-02:30-second-time": rome(2026, 10, 25, 2, 30, fold=1),
    "saturday-before-dst-starts": rome(2027, 3, 27, 22, 0),
    "dst-starts-03:30": rome(2027, 3, 28, 3, 30),
    "29-february": rome(2028, 2, 29, 10, 0),
}


@pytest.fixture(params=list(INSTANTS.values()), ids=list(INSTANTS))
def clock(request: pytest.FixtureRequest) -> FrozenClock:
    """Overrides the suite's clock: the sessions stamp rows at this instant too."""
    return FrozenClock(request.param)


def build(session: Session, settings: Settings, now: datetime) -> int:
    """One desk, one fiscal expert open every morning, and on Sunday nights too."""
    place = add_desk(session, "ascoli")
    expert = add_expert(session, "fisco", ["fiscale"])
    for weekday in range(7):
        add_rule(session, expert, place, weekday, "09:00", "12:00")
    add_rule(session, expert, place, 6, "01:30", "03:30")
    scheduling.refresh_slots(session=session, settings=settings, now=now)
    return expert.id


def on_the_grid(start: datetime, end: datetime) -> bool:
    """A slot that starts on a rule's half-hour, local time, and lasts 30 real minutes."""
    local = start.astimezone(ROME)
    windows = [OPEN] + ([NIGHT] if local.weekday() == 6 else [])
    inside = any(a <= local.time() < b for a, b in windows)
    return inside and local.minute in (0, 30) and end - start == timedelta(minutes=30)


def reminders(session: Session, booking_id: int) -> dict[int, int]:
    """Hours-before → number of reminder rows queued for a booking."""
    rows = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.booking_id == booking_id, OutboxMessage.kind == OutboxKind.REMINDER
        )
    )
    found: dict[int, int] = {}
    for row in rows:
        hours = int(row.payload["hours_before"])
        found[hours] = found.get(hours, 0) + 1
    return found


def test_the_desk_holds_at_instants_that_break_calendars(
    sessions: sessionmaker[Session], db_settings: Settings, clock: FrozenClock
) -> None:
    settings = db_settings.model_copy(update={"retention_days": 30})
    now = clock.now()
    notice = timedelta(hours=settings.desk_cancel_notice_hours)
    with sessions.begin() as session:
        build(session, settings, now)
        offers = scheduling.offer_slots(
            "fiscale", session=session, settings=settings, now=now, limit=8
        )
        first = open_ticket(session, settings, now=now, ref="a")
        second = open_ticket(session, settings, now=now, ref="b")
        codes = (first.code, second.code)
        tickets = (first.id, second.id)

    # Offers: on the grid, in the future, past the cut-off, each slot once, earliest first.
    assert len(offers) == 8
    starts = [o.starts_at for o in offers]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    for offer in offers:
        assert offer.starts_at >= now + notice, (offer.label, now)
        assert on_the_grid(offer.starts_at, offer.ends_at), offer.label
        assert offer.local_start == offer.starts_at.astimezone(ROME)
    # The year of a ticket code is the desk's local year (New Year's Eve in Rome is still 2026
    # at 23:30, though the UTC date is the same; one hour later it is 2027 everywhere).
    year = now.astimezone(ROME).year
    assert codes == (f"SPT-{year}-0001", f"SPT-{year}-0002")

    # One slot, two tickets: the second loses, and is offered other slots.
    target = offers[0]
    with sessions.begin() as session:
        booking = scheduling.book(
            tickets[0], target.slot_id, session=session, settings=settings, now=now
        )
        booking_id, starts = booking.id, booking.slot.starts_at
    with pytest.raises(SlotTaken) as lost, sessions.begin() as session:
        scheduling.book(tickets[1], target.slot_id, session=session, settings=settings, now=now)
    assert lost.value.alternatives and target.slot_id not in {
        o.slot_id for o in lost.value.alternatives
    }
    with sessions.begin() as session:
        active = session.scalar(
            select(func.count())
            .select_from(Booking)
            .where(Booking.slot_id == target.slot_id, Booking.status == BookingStatus.ACTIVE)
        )
        assert active == 1

    # Reminders: each falls due when its window opens, names the local time, and only once.
    hours = sorted(settings.desk_reminder_hours, reverse=True)
    for h in hours:
        opens = starts - timedelta(hours=h)
        booked_before = now < opens
        clock.set(max(opens - timedelta(minutes=1), now))
        with sessions.begin() as session:
            scheduling.queue_due_reminders(session=session, settings=settings, now=clock.now())
            assert h not in reminders(session, booking_id)
        clock.set(max(opens + timedelta(minutes=1), now))
        with sessions.begin() as session:
            scheduling.queue_due_reminders(session=session, settings=settings, now=clock.now())
            scheduling.queue_due_reminders(session=session, settings=settings, now=clock.now())
            queued = reminders(session, booking_id).get(h, 0)
            assert queued == (2 if booked_before else 0), (h, now, starts)  # volunteer + expert
            if queued:
                row = session.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.booking_id == booking_id,
                        OutboxMessage.kind == OutboxKind.REMINDER,
                    )
                ).first()
                assert row is not None and messages.when(starts, ROME) in row.body

    # Cancelling: allowed to the volunteer before the cut-off, refused inside it.
    clock.set(now)
    with sessions.begin() as session:
        other = scheduling.book(
            tickets[1], offers[1].slot_id, session=session, settings=settings, now=now
        )
        other_id, other_starts = other.id, other.slot.starts_at
        scheduling.cancel(
            booking_id, session=session, settings=settings, now=now, actor=Actor.volunteer()
        )
    late = other_starts - notice + timedelta(minutes=1)
    with pytest.raises(SportelloError), sessions.begin() as session:
        scheduling.cancel(
            other_id, session=session, settings=settings, now=late, actor=Actor.volunteer()
        )
    with sessions.begin() as session:
        assert session.get(Booking, other_id).status == BookingStatus.ACTIVE  # type: ignore[union-attr]

    # Retention: 30 days of silence, measured from this instant.
    window = timedelta(days=settings.retention_days)
    with sessions.begin() as session:
        for ref, age in (
            ("old", window + timedelta(hours=1)),
            ("young", window - timedelta(hours=1)),
        ):
            conv = conversations.start(session=session, channel=Channel.WEB, external_ref=ref)
            conv.created_at = conv.updated_at = now - age
    with sessions.begin() as session:
        purged = purge_expired(session=session, settings=settings, now=now)
    assert purged.conversations == 1
