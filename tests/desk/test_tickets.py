"""Tickets: codes, event log, notices to experts, claiming, replying, closing, illegal moves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.conversations.models import Channel, Conversation, Message, Role
from sportello.desk import scheduling, tickets
from sportello.desk.models import (
    BookingStatus,
    EventKind,
    OutboxKind,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from sportello.desk.tickets.states import Actor
from sportello.errors import ErrorCode, SportelloError
from tests.desk.factory import NOW, World, first_offer, open_ticket, outbox, utc


def events(session: Session, ticket_id: int) -> list[tuple[str, str]]:
    rows = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
    )
    return [(e.kind, e.actor) for e in rows]


def test_codes_count_per_year_in_rome(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        assert open_ticket(s, db_settings).code == "SPT-2026-0001"
        assert open_ticket(s, db_settings).code == "SPT-2026-0002"
    with sessions.begin() as s:
        # 31 Dec 23:30 UTC is already 1 January 2027 in Rome: a new year, a new count.
        assert open_ticket(s, db_settings, now=utc(2026, 12, 31, 23, 30)).code == "SPT-2027-0001"
        assert open_ticket(s, db_settings, now=utc(2026, 12, 31, 22, 30)).code == "SPT-2026-0003"
    # A rolled-back ticket gives its number back (the counter is in the same transaction).
    with pytest.raises(RuntimeError), sessions.begin() as s:
        open_ticket(s, db_settings)
        raise RuntimeError("rollback")
    with sessions.begin() as s:
        assert open_ticket(s, db_settings).code == "SPT-2026-0004"


def test_open_ticket_from_conversation_notifies_topic_experts(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        conv = Conversation(channel=Channel.TELEGRAM, external_ref="4242")
        s.add(conv)
        ticket = tickets.open_ticket(
            conv,
            "fiscale",
            "  Domanda sul 5 per mille  ",
            session=s,
            settings=db_settings,
            now=NOW,
        )
        assert ticket.conversation_id == conv.id
        assert (ticket.channel, ticket.volunteer_ref) == ("telegram", "4242")
        assert ticket.status is TicketStatus.NEW or ticket.status == "new"
        assert ticket.summary == "Domanda sul 5 per mille"
        assert events(s, ticket.id) == [(EventKind.OPENED, "volunteer")]
        rows = outbox(s, ticket.id)
        assert {r.kind for r in rows} == {OutboxKind.NEW_TICKET}
        # Both fiscal experts are told, by e-mail or by Telegram; nobody else.
        assert sorted((r.channel, r.recipient) for r in rows) == [
            ("email", "fisco@example.org"),
            ("telegram", "777"),
        ]
        assert ticket.code in rows[0].subject and "5 per mille" in rows[0].body
    with sessions.begin() as s, pytest.raises(SportelloError) as err:
        tickets.open_ticket(
            None, "fiscale", "   ", session=s, settings=db_settings, channel="web", now=NOW
        )
    assert err.value.code is ErrorCode.INVALID_INPUT


def test_claim_is_exclusive(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        claimed = tickets.claim(ticket.id, world.fiscal, session=s, now=NOW)
        assert claimed.status == TicketStatus.ASSIGNED
        assert claimed.assigned_expert_id == world.fiscal
        assert claimed.assigned_at == NOW
        # Claiming again is harmless; another expert is told who has it.
        tickets.claim(ticket.id, world.fiscal, session=s, now=NOW)
        with pytest.raises(SportelloError) as err:
            tickets.claim(ticket.id, world.fiscal_online, session=s, now=NOW)
        assert err.value.code is ErrorCode.CONFLICT
        assert "già stato preso in carico da Esperta fisco" in err.value.detail
        assert events(s, ticket.id)[-1] == (EventKind.CLAIMED, f"expert:{world.fiscal}")
        with pytest.raises(SportelloError) as missing:
            tickets.claim(99999, world.fiscal, session=s, now=NOW)
        assert missing.value.code is ErrorCode.NOT_FOUND


def test_life_cycle_with_appointment(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        conv = Conversation(channel=Channel.WEB, external_ref="browser-1")
        s.add(conv)
        ticket = tickets.open_ticket(
            conv, "fiscale", "Regime forfettario", session=s, settings=db_settings, now=NOW
        )
        offer = first_offer(s, db_settings)
        booking = scheduling.book(
            ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW
        )
        assert ticket.status == TicketStatus.SCHEDULED
        assert ticket.assigned_expert_id == offer.expert_id
        # A written reply before the appointment keeps it scheduled…
        tickets.reply(ticket.id, offer.expert_id, "A presto!", session=s, now=NOW)
        assert ticket.status == TicketStatus.SCHEDULED
        with pytest.raises(SportelloError) as err:
            tickets.close(ticket.id, "risolto", session=s, settings=db_settings, now=NOW)
        assert err.value.code is ErrorCode.ILLEGAL_TRANSITION
        assert "annullalo prima" in err.value.detail
        # …after it, the ticket is answered and can be closed; the booking counts as held.
        after = offer.ends_at + timedelta(minutes=5)
        tickets.reply(ticket.id, offer.expert_id, "Ecco il riepilogo.", session=s, now=after)
        assert ticket.status == TicketStatus.ANSWERED
        closed = tickets.close(
            ticket.id,
            "Spiegato il regime forfettario",
            session=s,
            settings=db_settings,
            now=after,
            actor=Actor.expert(offer.expert_id),
        )
        assert closed.status == TicketStatus.CLOSED and closed.closed_at == after
        s.refresh(booking)
        assert booking.status == BookingStatus.COMPLETED
        assert [k for k, _ in events(s, ticket.id)] == [
            EventKind.OPENED,
            EventKind.BOOKED,
            EventKind.REPLIED,
            EventKind.REPLIED,
            EventKind.CLOSED,
        ]
        # The expert's words are in the conversation and queued to the volunteer's channel.
        texts = s.scalars(
            select(Message.text).where(
                Message.conversation_id == conv.id, Message.role == Role.EXPERT
            )
        ).all()
        assert texts == ["A presto!", "Ecco il riepilogo."]
        replies = [r for r in outbox(s, ticket.id) if r.kind == OutboxKind.EXPERT_REPLY]
        assert [(r.channel, r.recipient) for r in replies] == [("web", "browser-1")] * 2
        assert "Ecco il riepilogo." in replies[1].body
        assert any(r.kind == OutboxKind.CLOSED for r in outbox(s, ticket.id))


def test_reply_without_appointment_claims_and_answers(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        tickets.reply(ticket.id, world.fiscal, "Serve il modello EAS.", session=s, now=NOW)
        assert ticket.status == TicketStatus.ANSWERED
        assert ticket.assigned_expert_id == world.fiscal
        with pytest.raises(SportelloError) as err:
            tickets.reply(ticket.id, world.fiscal_online, "Anch'io!", session=s, now=NOW)
        assert err.value.code is ErrorCode.FORBIDDEN
        with pytest.raises(SportelloError) as empty:
            tickets.reply(ticket.id, world.fiscal, "   ", session=s, now=NOW)
        assert empty.value.code is ErrorCode.INVALID_INPUT
        # Replying again is fine; closing needs an outcome.
        tickets.reply(ticket.id, world.fiscal, "Aggiungo un dettaglio.", session=s, now=NOW)
        with pytest.raises(SportelloError):
            tickets.close(ticket.id, " ", session=s, settings=db_settings, now=NOW)
        tickets.close(ticket.id, "Risposto per iscritto", session=s, settings=db_settings, now=NOW)


@pytest.mark.parametrize(
    ("setup", "action"),
    [
        ("new", "close"),
        ("closed", "claim"),
        ("closed", "reply"),
        ("closed", "book"),
        ("closed", "cancel"),
        ("cancelled", "book"),
        ("cancelled", "close"),
        ("cancelled", "reply"),
        ("scheduled", "book"),
        ("scheduled", "claim"),
    ],
)
def test_illegal_transitions_are_refused(
    sessions: sessionmaker[Session], db_settings: Settings, world: World, setup: str, action: str
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings)
        other = first_offer(s, db_settings, exclude=[offer.slot_id])
        if setup == "closed":
            tickets.reply(ticket.id, world.fiscal, "Fatto.", session=s, now=NOW)
            tickets.close(ticket.id, "ok", session=s, settings=db_settings, now=NOW)
        elif setup == "cancelled":
            tickets.cancel_ticket(ticket.id, session=s, settings=db_settings, now=NOW)
        elif setup == "scheduled":
            scheduling.book(ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW)
        before = ticket.status
        # Someone other than the assignee tries to claim (the assignee would be a no-op).
        expert = world.fiscal_online if ticket.assigned_expert_id == world.fiscal else world.fiscal
        calls = {
            "close": lambda: tickets.close(
                ticket.id, "x", session=s, settings=db_settings, now=NOW
            ),
            "claim": lambda: tickets.claim(ticket.id, expert, session=s, now=NOW),
            "reply": lambda: tickets.reply(ticket.id, world.fiscal, "x", session=s, now=NOW),
            "book": lambda: scheduling.book(
                ticket.id, other.slot_id, session=s, settings=db_settings, now=NOW
            ),
            "cancel": lambda: tickets.cancel_ticket(
                ticket.id, session=s, settings=db_settings, now=NOW
            ),
        }
        with pytest.raises(SportelloError) as err:
            calls[action]()
        assert err.value.code in (ErrorCode.ILLEGAL_TRANSITION, ErrorCode.CONFLICT)
        if err.value.code is ErrorCode.ILLEGAL_TRANSITION:
            assert err.value.detail.startswith(f"Il ticket {ticket.code} è «")
            assert "non è possibile" in err.value.detail
        s.refresh(ticket)
        assert ticket.status == before


def test_cancel_ticket_with_appointment(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        offer = first_offer(s, db_settings, after=NOW + timedelta(days=2))
        booking = scheduling.book(
            ticket.id, offer.slot_id, session=s, settings=db_settings, now=NOW
        )
        tickets.cancel_ticket(
            ticket.id, session=s, settings=db_settings, now=NOW, reason="risolto da solo"
        )
        s.refresh(booking)
        assert ticket.status == TicketStatus.CANCELLED
        assert booking.status == BookingStatus.CANCELLED
        assert [k for k, _ in events(s, ticket.id)][-2:] == [
            EventKind.BOOKING_CANCELLED,
            EventKind.CANCELLED,
        ]


def test_list_and_find(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as s:
        first = open_ticket(s, db_settings)
        second = open_ticket(s, db_settings, topic="volontari")
        tickets.claim(second.id, world.volunteers, session=s, now=NOW)
        assert [t.id for t in tickets.list_tickets(session=s)] == [second.id, first.id]
        assigned = tickets.list_tickets(session=s, statuses=[TicketStatus.ASSIGNED])
        assert [t.code for t in assigned] == [second.code]
        assert tickets.find_ticket(first.code.lower(), session=s).id == first.id
        with pytest.raises(SportelloError):
            tickets.find_ticket("SPT-1999-0001", session=s)
        assert s.get(Ticket, first.id) is first
