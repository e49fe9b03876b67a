"""Chat-side desk actions: a person's appointments, rating, erasure; experts on their chat."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.conversations import service as conversations
from sportello.conversations.models import Channel, Conversation, Feedback, Message, Role
from sportello.desk import scheduling, tickets
from sportello.desk.handover import people
from sportello.desk.models import (
    Booking,
    BookingStatus,
    EventKind,
    OutboxMessage,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from sportello.errors import ErrorCode, SportelloError
from sportello.privacy import erasure
from tests.desk.factory import NOW, World, first_offer, open_ticket

CASE = "Siamo una APS: come ci iscriviamo al 5 per mille? Scadenza a fine mese, Mario Rossi."


def book_for(session: Session, settings: Settings, ref: str = "42") -> Booking:
    conv = conversations.start(session=session, channel=Channel.TELEGRAM, external_ref=ref)
    ticket = tickets.open_ticket(conv, "fiscale", CASE, session=session, settings=settings, now=NOW)
    offer = first_offer(session, settings, after=NOW.replace(day=2))
    return scheduling.book(ticket.id, offer.slot_id, session=session, settings=settings, now=NOW)


def test_appointments_and_cancel(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as session:
        booking_id = book_for(session, db_settings).id
        book_for(session, db_settings, ref="someone-else")
    with sessions.begin() as session:
        mine = people.appointments("telegram", "42", session=session, settings=db_settings, now=NOW)
        assert [a.booking_id for a in mine] == [booking_id]
        assert mine[0].can_cancel and mine[0].ticket_code in mine[0].details
        with pytest.raises(SportelloError) as exc:
            people.cancel_appointment(
                "telegram",
                "someone-else",
                booking_id,
                session=session,
                settings=db_settings,
                now=NOW,
            )
        assert exc.value.code == ErrorCode.NOT_FOUND
    with sessions.begin() as session:
        ticket = people.cancel_appointment(
            "telegram", "42", booking_id, session=session, settings=db_settings, now=NOW
        )
        assert ticket.status == TicketStatus.ASSIGNED
    with sessions.begin() as session:
        assert (
            people.appointments("telegram", "42", session=session, settings=db_settings, now=NOW)
            == []
        )


def test_rating_after_closure(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as session:
        ticket = open_ticket(session, db_settings, ref="42")
        tickets.reply(ticket.id, world.fiscal, "Ecco come fare.", session=session, now=NOW)
        with pytest.raises(SportelloError):
            people.rate_ticket("telegram", "42", ticket.code, 4, session=session)
        tickets.close(ticket.id, "risolto", session=session, settings=db_settings, now=NOW)
        code = ticket.code
    with sessions.begin() as session:
        with pytest.raises(SportelloError):
            people.rate_ticket("telegram", "99", code, 4, session=session)
        people.rate_ticket("telegram", "42", code, 4, session=session)
    with sessions.begin() as session:
        event = session.scalar(select(TicketEvent).where(TicketEvent.kind == EventKind.CLOSED))
        assert event is not None and event.detail["satisfaction"] == 4


def test_erase_person_keeps_anonymised_tickets(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as session:
        booking = book_for(session, db_settings)
        conv = session.get(Conversation, booking.ticket.conversation_id)
        assert conv is not None
        conversations.record_message(
            session=session,
            conversation=conv,
            role=Role.USER,
            text="Sono Mario Rossi, tel. 333 1234567",
        )
        answer = conversations.record_message(
            session=session, conversation=conv, role=Role.ASSISTANT, text="Ecco…"
        )
        conversations.give_feedback(
            session=session, conversation=conv, message_id=answer.id, value=1
        )
        ticket_id, conv_id = booking.ticket_id, conv.id
        other = open_ticket(session, db_settings, ref="someone-else")
    with sessions.begin() as session:
        report = erasure.erase_person(
            "telegram", "42", session=session, settings=db_settings, now=NOW
        )
        assert (report.conversations, report.tickets) == (1, 1) and report.messages >= 2
    with sessions.begin() as session:
        assert session.get(Conversation, conv_id) is None
        assert (
            session.scalar(
                select(func.count()).select_from(Message).where(Message.conversation_id == conv_id)
            )
            == 0
        )
        assert session.scalar(select(func.count()).select_from(Feedback)) == 0
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == TicketStatus.CANCELLED
        assert ticket.volunteer_ref is None and ticket.conversation_id is None
        assert "Mario" not in ticket.summary
        assert (
            session.scalar(select(Booking.status).where(Booking.ticket_id == ticket_id))
            == BookingStatus.CANCELLED
        )
        rows = list(session.scalars(select(OutboxMessage)))
        assert not [r for r in rows if r.recipient == "42"]
        assert not [r for r in rows if "Mario" in r.body or "Mario" in str(r.payload)]
        assert session.get(Ticket, other.id).volunteer_ref == "someone-else"  # type: ignore[union-attr]


def test_expert_claims_and_replies_from_their_chat(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with sessions.begin() as session:
        code = open_ticket(session, db_settings, ref="42").code
    with sessions.begin() as session:
        assert people.expert_for_chat("777", session=session) is not None
        with pytest.raises(SportelloError) as exc:
            people.expert_claim("555", code, session=session, now=NOW)
        assert exc.value.code == ErrorCode.FORBIDDEN
        ticket = people.expert_claim("777", code, session=session, now=NOW)
        assert ticket.assigned_expert_id == world.fiscal_online
    with sessions.begin() as session:
        ticket = people.expert_reply(
            "777", code, "Serve l'iscrizione entro aprile.", session=session, now=NOW
        )
        assert ticket.status == TicketStatus.ANSWERED
