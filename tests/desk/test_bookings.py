"""Booking, cancelling and rescheduling: the database forbids double booking; notice rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.desk import scheduling, tickets
from sportello.desk.models import (
    Booking,
    BookingStatus,
    OutboxKind,
    Slot,
    Ticket,
    TicketStatus,
)
from sportello.desk.scheduling import queries
from sportello.desk.tickets.states import Actor
from sportello.errors import ErrorCode, SportelloError
from tests.desk.factory import NOW, World, active_bookings, first_offer, open_ticket, outbox


def test_book_schedules_and_confirms(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings)
        booking = scheduling.book(
            ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW
        )
        assert booking.status == BookingStatus.ACTIVE and booking.sequence == 0
        assert (ticket.status, ticket.assigned_expert_id) == (
            TicketStatus.SCHEDULED,
            offer.expert_id,
        )
        confirmations = [r for r in outbox(s, ticket.id) if r.kind == OutboxKind.CONFIRMATION]
        assert sorted(r.channel for r in confirmations) == ["email", "telegram"]
        volunteer = next(r for r in confirmations if r.recipient == "chat-1")
        assert ticket.code in volunteer.body and offer.expert_name in volunteer.body
        assert "BEGIN:VCALENDAR" in str(volunteer.payload["ics"])
        assert scheduling.describe(booking, db_settings).startswith(f"Ticket {ticket.code}")


def test_second_booking_of_a_slot_raises_slot_taken_with_alternatives(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        first, second = open_ticket(s, db_settings), open_ticket(s, db_settings, ref="chat-2")
        offer = first_offer(s, db_settings)
        scheduling.book(first.id, offer.slot_id, session=s, settings=db_settings, now=NOW)
    with sessions.begin() as s:
        with pytest.raises(scheduling.SlotTaken) as err:
            scheduling.book(second.id, offer.slot_id, session=s, settings=db_settings, now=NOW)
        taken = err.value
        assert taken.code is ErrorCode.SLOT_TAKEN and taken.slot_id == offer.slot_id
        assert "appena stato prenotato" in taken.detail
        assert taken.alternatives and offer.slot_id not in {a.slot_id for a in taken.alternatives}
        assert all(a.starts_at > NOW for a in taken.alternatives)
        # The caller's transaction is still usable: the ticket is untouched, book an alternative.
        again = s.get(Ticket, second.id)
        assert again is not None
        assert again.status == TicketStatus.NEW and again.assigned_expert_id is None
        scheduling.book(
            second.id, taken.alternatives[0].slot_id, session=s, settings=db_settings, now=NOW
        )
    with sessions.begin() as s:
        assert active_bookings(s, offer.slot_id) == 1


def test_database_refuses_two_active_bookings(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    """The rule holds even for code that bypasses the service."""
    with sessions.begin() as s:
        a, b = open_ticket(s, db_settings), open_ticket(s, db_settings)
        slot_id = first_offer(s, db_settings).slot_id
        s.add(Booking(ticket_id=a.id, slot_id=slot_id, booked_at=NOW))
        s.flush()
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(Booking(ticket_id=b.id, slot_id=slot_id, booked_at=NOW))
    # A cancelled booking does not hold the slot.
    with sessions.begin() as s:
        s.add(Booking(ticket_id=b.id, slot_id=slot_id, booked_at=NOW, status="cancelled"))
        for booking in s.scalars(select(Booking).where(Booking.ticket_id == a.id)):
            booking.status = BookingStatus.CANCELLED
        s.flush()
        s.add(Booking(ticket_id=b.id, slot_id=slot_id, booked_at=NOW))
    with sessions.begin() as s:
        assert active_bookings(s, slot_id) == 1


def test_booking_checks_the_slot(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings, topic="volontari")
        fiscal = first_offer(s, db_settings, topic="fiscale")
        with pytest.raises(SportelloError) as wrong_topic:
            scheduling.book(ticket.id, fiscal.slot_id, session=s, settings=db_settings, now=NOW)
        assert wrong_topic.value.code is ErrorCode.INVALID_INPUT
        assert "non segue il tema" in wrong_topic.value.detail
        offer = first_offer(s, db_settings, topic="volontari")
        with pytest.raises(SportelloError) as past:
            scheduling.book(
                ticket.id,
                offer.slot_id,
                session=s,
                settings=db_settings,
                now=offer.starts_at + timedelta(minutes=1),
            )
        assert past.value.code is ErrorCode.INVALID_INPUT and "passato" in past.value.detail
        s.get(Slot, offer.slot_id).withdrawn = True  # type: ignore[union-attr]
        with pytest.raises(SportelloError) as gone:
            scheduling.book(ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW)
        assert gone.value.code is ErrorCode.NOT_FOUND
        with pytest.raises(SportelloError) as missing:
            scheduling.book(ticket.id, 999_999, session=s, settings=db_settings, now=NOW)
        assert missing.value.code is ErrorCode.NOT_FOUND


def test_assigned_ticket_books_only_its_expert_unless_staff(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        tickets.claim(ticket.id, world.fiscal, session=s, now=NOW)
        online = first_offer(s, db_settings, expert_id=world.fiscal_online)
        with pytest.raises(SportelloError) as err:
            scheduling.book(ticket.id, online.slot_id, session=s, settings=db_settings, now=NOW)
        assert err.value.code is ErrorCode.CONFLICT and "Esperta fisco" in err.value.detail
        mine = scheduling.offer_slots_for_ticket(
            ticket.id, session=s, settings=db_settings, now=NOW
        )
        assert mine and {o.expert_id for o in mine} == {world.fiscal}
        scheduling.book(
            ticket.id,
            online.slot_id,
            session=s,
            settings=db_settings,
            now=NOW,
            actor=Actor.staff("anna"),
        )
        assert ticket.assigned_expert_id == world.fiscal_online


def test_cancel_respects_notice_for_volunteers(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings)
        booking = scheduling.book(
            ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW
        )
        too_late = offer.starts_at - timedelta(hours=1, minutes=59)
        with pytest.raises(SportelloError) as err:
            scheduling.cancel(booking.id, session=s, settings=db_settings, now=too_late)
        assert err.value.code is ErrorCode.CONFLICT
        assert "Mancano meno di 2 ore" in err.value.detail
        # The expert may cancel at any time before it starts; not after.
        with pytest.raises(SportelloError) as started:
            scheduling.cancel(
                booking.id,
                session=s,
                settings=db_settings,
                now=offer.starts_at,
                actor=Actor.expert(offer.expert_id),
            )
        assert started.value.code is ErrorCode.ILLEGAL_TRANSITION
        cancelled = scheduling.cancel(
            booking.id,
            session=s,
            settings=db_settings,
            now=too_late,
            actor=Actor.expert(offer.expert_id),
            reason="imprevisto",
        )
        assert cancelled.status == BookingStatus.CANCELLED and cancelled.sequence == 1
        assert cancelled.cancel_reason == "imprevisto"
        # The ticket goes back to its expert, the slot is free again.
        assert ticket.status == TicketStatus.ASSIGNED
        assert ticket.assigned_expert_id == offer.expert_id
        assert active_bookings(s, offer.slot_id) == 0
        again = scheduling.offer_slots(
            "fiscale", session=s, settings=db_settings, now=NOW, limit=50
        )
        assert offer.slot_id in {o.slot_id for o in again}
        notices = [r for r in outbox(s, ticket.id) if r.kind == OutboxKind.CANCELLATION]
        assert len(notices) == 2 and "Motivo: imprevisto" in notices[0].body
        with pytest.raises(SportelloError) as twice:
            scheduling.cancel(booking.id, session=s, settings=db_settings, now=NOW)
        assert twice.value.code is ErrorCode.ILLEGAL_TRANSITION


def test_volunteer_cancel_in_time(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings)
        booking = scheduling.book(
            ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW
        )
        in_time = offer.starts_at - timedelta(hours=2)
        scheduling.cancel(booking.id, session=s, settings=db_settings, now=in_time)
        # and book again, with the same expert
        other = scheduling.offer_slots_for_ticket(
            ticket.id, session=s, settings=db_settings, now=in_time
        )
        assert other and {o.expert_id for o in other} == {offer.expert_id}
        scheduling.book(ticket.id, other[0].slot_id, session=s, settings=db_settings, now=in_time)
        assert ticket.status == TicketStatus.SCHEDULED


def test_reschedule_moves_the_same_booking(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings, after=NOW + timedelta(days=3))
        booking = scheduling.book(
            ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW
        )
        uid = booking.uid
        later = first_offer(
            s, db_settings, after=offer.starts_at + timedelta(days=1), expert_id=offer.expert_id
        )
        # Volunteers need 24 h of notice to move it.
        with pytest.raises(SportelloError) as err:
            scheduling.reschedule(
                booking.id,
                later.slot_id,
                session=s,
                settings=db_settings,
                now=offer.starts_at - timedelta(hours=23),
            )
        assert err.value.code is ErrorCode.CONFLICT and "24 ore" in err.value.detail
        with pytest.raises(SportelloError) as same:
            scheduling.reschedule(
                booking.id, offer.slot_id, session=s, settings=db_settings, now=NOW
            )
        assert same.value.code is ErrorCode.INVALID_INPUT
        moved = scheduling.reschedule(
            booking.id, later.slot_id, session=s, settings=db_settings, now=NOW
        )
        assert (moved.id, moved.uid, moved.slot_id, moved.sequence) == (
            booking.id,
            uid,
            later.slot_id,
            1,
        )
        assert active_bookings(s, offer.slot_id) == 0 and active_bookings(s, later.slot_id) == 1
        assert ticket.status == TicketStatus.SCHEDULED
        kinds = [r.kind for r in outbox(s, ticket.id)]
        assert kinds.count(OutboxKind.RESCHEDULED) == 2


def test_reschedule_to_a_taken_slot(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        mine, theirs = open_ticket(s, db_settings), open_ticket(s, db_settings, ref="chat-2")
        offers = scheduling.offer_slots(
            "fiscale", session=s, settings=db_settings, now=NOW, expert_id=world.fiscal, limit=3
        )
        booking = scheduling.book(
            mine.id, offers[1].slot_id, session=s, settings=db_settings, now=NOW
        )
        scheduling.book(theirs.id, offers[2].slot_id, session=s, settings=db_settings, now=NOW)
        with pytest.raises(scheduling.SlotTaken) as err:
            scheduling.reschedule(
                booking.id,
                offers[2].slot_id,
                session=s,
                settings=db_settings,
                now=NOW,
                actor=Actor.staff("anna"),
            )
        assert err.value.alternatives
        s.refresh(booking)
        assert (booking.slot_id, booking.sequence) == (offers[1].slot_id, 0)


def test_staff_moves_to_another_expert(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings, expert_id=world.fiscal)
        booking = scheduling.book(
            ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW
        )
        online = first_offer(s, db_settings, expert_id=world.fiscal_online)
        with pytest.raises(SportelloError):
            scheduling.reschedule(
                booking.id, online.slot_id, session=s, settings=db_settings, now=NOW
            )
        scheduling.reschedule(
            booking.id,
            online.slot_id,
            session=s,
            settings=db_settings,
            now=NOW,
            actor=Actor.staff("anna"),
        )
        assert ticket.assigned_expert_id == world.fiscal_online
        rows = outbox(s, ticket.id)[-3:]
        assert [(r.kind, r.channel) for r in rows] == [
            (OutboxKind.RESCHEDULED, "telegram"),  # the volunteer (chat-1)
            (OutboxKind.CANCELLATION, "email"),  # the first expert loses it
            (OutboxKind.CONFIRMATION, "telegram"),  # the online expert (chat 777) gets it
        ]


def test_lost_race_inside_the_window_is_caught_by_the_index(
    sessions: sessionmaker[Session],
    db_settings: Settings,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Simulate losing between the check and the INSERT: the unique index decides, the
    SAVEPOINT is rolled back, and the caller's transaction goes on."""
    with sessions.begin() as s:
        first, second = open_ticket(s, db_settings), open_ticket(s, db_settings, ref="chat-2")
        offers = scheduling.offer_slots(
            "fiscale", session=s, settings=db_settings, now=NOW, expert_id=world.fiscal, limit=3
        )
        scheduling.book(first.id, offers[0].slot_id, session=s, settings=db_settings, now=NOW)
        moving = scheduling.book(
            second.id, offers[1].slot_id, session=s, settings=db_settings, now=NOW
        )
    real_get_slot = queries.get_slot

    def stale_check(session: Session, slot_id: int) -> tuple[Slot, bool] | None:
        found = real_get_slot(session, slot_id)
        return (found[0], False) if found else None  # "free", as seen just before the winner

    monkeypatch.setattr(queries, "get_slot", stale_check)
    with sessions.begin() as s:
        third = open_ticket(s, db_settings, ref="chat-3")
        with pytest.raises(scheduling.SlotTaken) as err:
            scheduling.book(third.id, offers[0].slot_id, session=s, settings=db_settings, now=NOW)
        assert err.value.alternatives
        assert offers[0].slot_id not in {a.slot_id for a in err.value.alternatives}
        with pytest.raises(scheduling.SlotTaken):
            scheduling.reschedule(
                moving.id,
                offers[0].slot_id,
                session=s,
                settings=db_settings,
                now=NOW,
                actor=Actor.staff("anna"),
            )
        # Still usable: nothing of the failed attempts is left, the new ticket is kept.
        assert s.get(Ticket, third.id).status == TicketStatus.NEW  # type: ignore[union-attr]
        assert s.get(Booking, moving.id).slot_id == offers[1].slot_id  # type: ignore[union-attr]
    with sessions.begin() as s:
        assert s.get(Ticket, third.id) is not None
        assert active_bookings(s, offers[0].slot_id) == 1
