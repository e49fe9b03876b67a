"""Staff managing desks and experts: checked fields, deactivation deciding about bookings, demo
removal (also by loading a real file), and a deactivation racing a booking — SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.desk import scheduling, seed
from sportello.desk.directory import records, retire
from sportello.desk.directory.demo import remove_demo
from sportello.desk.directory.records import DeskFields, ExpertFields
from sportello.desk.models import (
    Booking,
    BookingStatus,
    EventKind,
    Expert,
    HelpDesk,
    OutboxKind,
    Ticket,
    TicketStatus,
)
from sportello.desk.schemas import SeedData
from sportello.desk.tickets import Actor
from sportello.errors import ErrorCode, SportelloError
from tests.desk.factory import NOW, World, add_expert, add_rule, first_offer, open_ticket, outbox

STAFF = Actor.staff("anna")
DESK, EXPERT = retire.Kind.DESK, retire.Kind.EXPERT


def book_fiscal(s: Session, settings: Settings, world: World, ref: str = "chat-1") -> Booking:
    ticket = open_ticket(s, settings, ref=ref)
    offer = first_offer(s, settings, expert_id=world.fiscal)
    return scheduling.book(ticket.id, offer.slot_id, session=s, settings=settings, now=NOW)


def off(
    s: Session, settings: Settings, kind: retire.Kind, ref: int, how: retire.BookingDecision
) -> retire.Deactivation:
    """Staff deactivate a desk or an expert, deciding `how` about its bookings."""
    return retire.deactivate(kind, ref, how, session=s, settings=settings, now=NOW, actor=STAFF)


def offered_experts(s: Session, settings: Settings, topic: str = "fiscale") -> set[int]:
    return {
        o.expert_id
        for o in scheduling.offer_slots(topic, session=s, settings=settings, now=NOW, limit=50)
    }


def test_fields_are_checked_and_nothing_is_stored_on_a_bad_one(
    sessions: sessionmaker[Session], world: World
) -> None:
    bad_desks = {
        "nome è obbligatorio": DeskFields(name=" "),
        "ha bisogno dell'indirizzo": DeskFields(name="Sportello di Fermo", kind="in_person"),
        "link della stanza virtuale": DeskFields(name="Online due", kind="online"),
        "deve iniziare con https://": DeskFields(
            name="Online due", kind="online", meeting_link="javascript:alert(1)"
        ),
        "Tipo di sportello sconosciuto": DeskFields(name="Fermo", kind="volante"),
        "troppo lungo": DeskFields(name="Fermo", address="x" * 301),
    }
    bad_experts = {
        "almeno un tema": ExpertFields(name="Giulia Rossi"),
        "Tema sconosciuto «cucina»": ExpertFields(name="Giulia Rossi", topics=["cucina"]),
        "non è valido: è un numero": ExpertFields(
            name="Giulia Rossi", topics=["fiscale"], telegram_chat_id="@giulia"
        ),
        "è già collegata a Esperta fisco-online": ExpertFields(
            name="Giulia Rossi", topics=["fiscale"], telegram_chat_id="777"
        ),
    }
    for expected, desk_fields in bad_desks.items():
        with pytest.raises(SportelloError) as caught, sessions.begin() as s:
            records.save_desk(s, desk_fields, world.ascoli)
        assert expected in caught.value.detail
    for expected, expert_fields in bad_experts.items():
        with pytest.raises(SportelloError) as caught, sessions.begin() as s:
            records.save_expert(s, expert_fields, world.fiscal)
        assert expected in caught.value.detail
    with sessions.begin() as s:
        desk = s.get(HelpDesk, world.ascoli)
        expert = s.get(Expert, world.fiscal)
        assert desk is not None and desk.name == "Sportello ascoli" and desk.address
        assert expert is not None and expert.topic_names == ["bilancio", "fiscale"]
        created = records.save_desk(
            s,
            DeskFields(
                name="Sportello di Fermo",
                address="Corso Cavour 1, Fermo",
                opening_notes="Martedì 9-12\nGiovedì 15-18",
            ),
        )
        assert (created.slug, created.active, created.is_example) == (
            "sportello-di-fermo",
            True,
            False,
        )
        assert created.opening_notes == "Martedì 9-12\nGiovedì 15-18"
        again = records.save_desk(s, DeskFields(name="Sportello di Fermo", address="Altrove 2"))
        assert again.slug == "sportello-di-fermo-2"
        edited = records.save_expert(
            s, ExpertFields(name="Luca Verdi", topics=["fiscale", "runts", "fiscale"]), world.fiscal
        )
        assert edited.topic_names == ["fiscale", "runts"] and edited.slug == "fisco"


def test_deactivating_an_expert_asks_then_cancels_with_a_notice(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        booking_id = book_fiscal(s, db_settings, world).id
    with pytest.raises(retire.DecisionNeeded) as asked, sessions.begin() as s:
        off(s, db_settings, EXPERT, world.fiscal, retire.BookingDecision.ASK)
    assert "appuntamenti in programma (1)" in asked.value.detail
    assert [a.booking_id for a in asked.value.affected] == [booking_id]
    assert asked.value.affected[0].replacement is None  # nobody else covers Monday morning
    with sessions.begin() as s:  # asking changed nothing
        assert s.get(Expert, world.fiscal).active  # type: ignore[union-attr]
        assert s.get(Booking, booking_id).status == BookingStatus.ACTIVE  # type: ignore[union-attr]
        assert world.fiscal in offered_experts(s, db_settings)
    with pytest.raises(SportelloError) as refused, sessions.begin() as s:
        off(s, db_settings, EXPERT, world.fiscal, retire.BookingDecision.REASSIGN)
    assert (
        refused.value.code == ErrorCode.CONFLICT
        and "Non c'è un altro esperto" in refused.value.detail
    )
    with sessions.begin() as s:
        report = off(s, db_settings, EXPERT, world.fiscal, retire.BookingDecision.CANCEL)
        assert (report.cancelled, report.released_tickets) == (1, 1)
    with sessions.begin() as s:
        booking = s.get(Booking, booking_id)
        assert booking is not None and booking.status == BookingStatus.CANCELLED
        ticket = booking.ticket
        assert (ticket.status, ticket.assigned_expert_id) == (TicketStatus.NEW, None)
        assert [e.kind for e in ticket.events][-2:] == [
            EventKind.BOOKING_CANCELLED,
            EventKind.RELEASED,
        ]
        notices = [m for m in outbox(s, ticket.id) if m.kind == OutboxKind.CANCELLATION]
        assert any(
            m.channel == "telegram" and "l'esperto non è più disponibile" in m.body for m in notices
        )
        assert world.fiscal not in offered_experts(s, db_settings)
        assert world.fiscal not in offered_experts(s, db_settings, "bilancio")
        # …and booking one of its old slots directly is refused.
        again = open_ticket(s, db_settings, ref="chat-2")
        with pytest.raises(SportelloError) as gone:
            scheduling.book(again.id, booking.slot_id, session=s, settings=db_settings, now=NOW)
        assert "non è più disponibile" in gone.value.detail
    with sessions.begin() as s:  # active again: its weekly openings are offered again
        retire.activate(EXPERT, world.fiscal, session=s, settings=db_settings, now=NOW)
        assert world.fiscal in offered_experts(s, db_settings)


def test_reassigning_moves_each_booking_to_a_colleague_at_the_same_time(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        colleague = add_expert(s, "fisco-due", ["fiscale"])
        sbt = s.get(HelpDesk, world.sbt)
        assert sbt is not None
        add_rule(s, colleague, sbt, 0)
        add_rule(s, colleague, sbt, 1)
        colleague_id = colleague.id
        booking = book_fiscal(s, db_settings, world)
        booking_id, starts_at = booking.id, booking.slot.starts_at
    with sessions.begin() as s:
        report = off(s, db_settings, EXPERT, world.fiscal, retire.BookingDecision.REASSIGN)
        assert (
            report.reassigned == 1
            and report.affected[0].replacement == "Esperta fisco-due · Sportello sbt"
        )
    with sessions.begin() as s:
        booking = s.get(Booking, booking_id)
        assert booking is not None and booking.status == BookingStatus.ACTIVE
        assert (booking.slot.expert_id, booking.slot.starts_at) == (colleague_id, starts_at)
        assert booking.ticket.assigned_expert_id == colleague_id
        assert booking.ticket.status == TicketStatus.SCHEDULED
        assert any(m.kind == OutboxKind.RESCHEDULED for m in outbox(s, booking.ticket_id))


def test_a_deactivated_desk_is_never_offered_and_its_bookings_follow_the_choice(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        booking_id = book_fiscal(s, db_settings, world).id
    with sessions.begin() as s:
        report = off(s, db_settings, DESK, world.ascoli, retire.BookingDecision.CANCEL)
        assert report.cancelled == 1
    with sessions.begin() as s:
        desks = {
            o.desk_id
            for o in scheduling.offer_slots(
                "fiscale", session=s, settings=db_settings, now=NOW, limit=50
            )
        }
        assert world.ascoli not in desks and world.online in desks
        booking = s.get(Booking, booking_id)
        assert booking is not None and booking.status == BookingStatus.CANCELLED
        # The expert stays active and keeps the ticket, to book at another desk.
        assert booking.ticket.status == TicketStatus.ASSIGNED
        assert any("lo sportello non è più attivo" in m.body for m in outbox(s, booking.ticket_id))
        with pytest.raises(SportelloError) as twice:
            off(s, db_settings, DESK, world.ascoli, retire.BookingDecision.ASK)
        assert "è già disattivato" in twice.value.detail
        retire.activate(DESK, world.ascoli, session=s, settings=db_settings, now=NOW)
        desks = {
            o.desk_id
            for o in scheduling.offer_slots(
                "fiscale", session=s, settings=db_settings, now=NOW, limit=50
            )
        }
        assert world.ascoli in desks


def seed_demo(s: Session, settings: Settings) -> None:
    seed.apply_seed(seed.load_seed(), session=s, settings=settings, now=NOW)


def demo_booking(s: Session, settings: Settings) -> Booking:
    luca = s.scalars(select(Expert).where(Expert.slug == "luca-bianchi")).one()
    ticket = open_ticket(s, settings, ref="chat-demo")
    offer = first_offer(s, settings, expert_id=luca.id)
    return scheduling.book(ticket.id, offer.slot_id, session=s, settings=settings, now=NOW)


def test_demo_data_is_removed_in_one_action(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        seed_demo(s, db_settings)
        ticket_id = demo_booking(s, db_settings).ticket_id
    with sessions.begin() as s:
        done = remove_demo(session=s, settings=db_settings, now=NOW, actor=STAFF)
        assert (done.desks, done.experts, done.cancelled_bookings, done.deleted_bookings) == (
            3,
            6,
            1,
            1,
        )
        assert done.released_tickets == 1
    with sessions.begin() as s:
        assert not s.scalars(select(Expert).where(Expert.is_example.is_(True))).all()
        assert not s.scalars(select(HelpDesk).where(HelpDesk.is_example.is_(True))).all()
        # The real desks stay; the world's "online" shares the demo file's slug, so the demo
        # load took it over (and removed it with the demo).
        assert {d.slug for d in s.scalars(select(HelpDesk))} == {"ascoli", "sbt"}
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None and (ticket.status, ticket.assigned_expert_id) == (
            TicketStatus.NEW,
            None,
        )
        assert any("appuntamento di prova" in m.body for m in outbox(s, ticket_id))
        assert world.fiscal in offered_experts(s, db_settings)
        assert remove_demo(session=s, settings=db_settings, now=NOW, actor=STAFF).nothing


def test_loading_a_real_file_removes_the_demo_and_keeps_a_deactivation(
    sessions: sessionmaker[Session], db_settings: Settings
) -> None:
    with sessions.begin() as s:
        seed_demo(s, db_settings)
        demo_booking(s, db_settings)
    real = SeedData.model_validate(
        {
            "desks": [
                {
                    "slug": "fermo",
                    "name": "Sportello di Fermo",
                    "kind": "in_person",
                    "address": "Corso Cavour 1, Fermo",
                }
            ],
            "experts": [
                {
                    "slug": "giulia",
                    "name": "Giulia Rossi",
                    "contact": "0734 000000",
                    "topics": ["fiscale"],
                    "availability": [
                        {"desk": "fermo", "weekday": 0, "start": "09:00", "end": "12:00"}
                    ],
                }
            ],
        }
    )
    with sessions.begin() as s:
        report = seed.apply_seed(real, session=s, settings=db_settings, now=NOW)
        assert (report.demo_desks_removed, report.demo_experts_removed) == (3, 6)
        assert report.demo_bookings_cancelled == 1 and report.demo_tickets_released == 1
    with sessions.begin() as s:
        assert [e.slug for e in s.scalars(select(Expert))] == ["giulia"]
        names = {
            o.expert_name
            for o in scheduling.offer_slots(
                "fiscale", session=s, settings=db_settings, now=NOW, limit=50
            )
        }
        assert names == {"Giulia Rossi"}
        giulia = s.scalars(select(Expert)).one()
        off(s, db_settings, EXPERT, giulia.id, retire.BookingDecision.ASK)
    with sessions.begin() as s:  # loading the file again does not undo staff's decision
        seed.apply_seed(real, session=s, settings=db_settings, now=NOW)
        assert not s.scalars(select(Expert)).one().active
        assert not scheduling.offer_slots("fiscale", session=s, settings=db_settings, now=NOW)


ROUNDS = 8


def race_round(
    pool: sessionmaker[Session],
    settings: Settings,
    expert_id: int,
    how: retire.BookingDecision,
    ticket_id: int,
    slot_id: int,
) -> dict[str, object]:
    """A volunteer books `slot_id` while staff deactivate its expert, starting together."""
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def booker() -> None:
        barrier.wait()
        try:
            with pool.begin() as s:
                results["book"] = scheduling.book(
                    ticket_id, slot_id, session=s, settings=settings, now=NOW
                ).id
        except SportelloError as exc:
            results["book"] = exc

    def staff() -> None:
        barrier.wait()
        try:
            with pool.begin() as s:
                results["off"] = retire.deactivate(
                    EXPERT, expert_id, how, session=s, settings=settings, now=NOW, actor=STAFF
                ).cancelled
        except SportelloError as exc:
            results["off"] = exc

    threads = [threading.Thread(target=booker), threading.Thread(target=staff)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.race
def test_deactivating_while_a_volunteer_books_never_leaves_a_booking_with_nobody(
    engine: object, db_settings: Settings, world: World
) -> None:
    """A booking and a deactivation at the same instant: either the booking is refused, or the
    deactivation sees it (asks, or cancels it with a notice). Never an active booking of an
    inactive expert."""
    racing = make_engine(db_settings, pool_size=4, max_overflow=0, pool_pre_ping=False)
    pool = make_sessionmaker(racing)
    outcomes: dict[str, int] = {}
    try:
        for round_no in range(ROUNDS):
            how = retire.BookingDecision.ASK if round_no % 2 else retire.BookingDecision.CANCEL
            with pool.begin() as s:
                expert = s.get(Expert, world.fiscal)
                if expert is not None and not expert.active:
                    retire.activate(EXPERT, world.fiscal, session=s, settings=db_settings, now=NOW)
            with pool.begin() as s:
                ticket_id = open_ticket(s, db_settings, ref=f"race-{round_no}").id
                slot_id = first_offer(s, db_settings, expert_id=world.fiscal).slot_id
            results = race_round(pool, db_settings, world.fiscal, how, ticket_id, slot_id)
            with pool.begin() as s:
                active = s.get(Expert, world.fiscal).active  # type: ignore[union-attr]
                live = s.scalars(
                    select(Booking).where(
                        Booking.ticket_id == ticket_id, Booking.status == BookingStatus.ACTIVE
                    )
                ).all()
                assert active or not live, (how, results)
                booked, off = results["book"], results["off"]
                if isinstance(off, retire.DecisionNeeded):
                    assert active and len(live) == 1 and isinstance(booked, int)
                    key = "asked"
                    scheduling.cancel(booked, session=s, settings=db_settings, now=NOW, actor=STAFF)
                elif isinstance(booked, SportelloError):
                    assert not active and "non è più disponibile" in booked.detail
                    key = "booking refused"
                else:
                    assert not active and off == 1 and not live
                    key = "booking cancelled"
                outcomes[key] = outcomes.get(key, 0) + 1
    finally:
        racing.dispose()
    assert sum(outcomes.values()) == ROUNDS, outcomes
