"""The dashboard, gaps and console queries on both databases (SQLite file, PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.conversations import gaps
from sportello.conversations import reports as stats
from sportello.conversations.models import Channel, Conversation, Feedback, Message, Role
from sportello.desk import scheduling, tickets
from sportello.desk.models import TicketStatus
from sportello.desk.tickets import reports as desk_stats
from sportello.desk.tickets import reports as queue
from tests.desk.factory import NOW, build_world, open_ticket


def add_exchange(
    session: Session,
    conversation: Conversation,
    question: str,
    action: str,
    confidence: float,
    at: datetime,
    vote: int | None = None,
) -> Message:
    session.add(
        Message(
            conversation_id=conversation.id,
            role=Role.USER,
            text=question,
            citations=[],
            created_at=at,
        )
    )
    reply = Message(
        conversation_id=conversation.id,
        role=Role.ASSISTANT,
        text=f"R: {question}",
        action=action,
        confidence=confidence,
        topic="fiscale",
        citations=[],
        created_at=at + timedelta(seconds=1),
    )
    session.add(reply)
    session.flush()
    if vote is not None:
        session.add(Feedback(message_id=reply.id, value=vote, created_at=at))
    return reply


def test_conversation_figures_and_gaps(sessions: sessionmaker[Session]) -> None:
    now = NOW
    with sessions.begin() as session:
        conv = Conversation(channel=Channel.WEB, external_ref="web:x", state={})
        session.add(conv)
        session.flush()
        add_exchange(session, conv, "Domanda chiara", "answer", 0.9, now - timedelta(hours=2), 1)
        add_exchange(session, conv, "Domanda incerta", "answer", 0.5, now - timedelta(hours=1))
        add_exchange(
            session, conv, "Domanda difficile", "escalate", 0.2, now - timedelta(minutes=30)
        )
        add_exchange(session, conv, "Fuori tema", "refuse", 0.0, now - timedelta(minutes=20))
        add_exchange(
            session, conv, "Risposta sbagliata", "answer", 0.8, now - timedelta(minutes=10), -1
        )
        add_exchange(session, conv, "Vecchia", "refuse", 0.0, now - timedelta(days=40))
    since = now - timedelta(days=7)
    with sessions.begin() as session:
        found = gaps.find_gaps(session=session, since=since, low_confidence=0.6)
        by_question = {g.question: g.reasons for g in found}
        assert by_question == {
            "Domanda incerta": (gaps.GapReason.LOW_CONFIDENCE,),
            "Domanda difficile": (gaps.GapReason.ESCALATED,),
            "Fuori tema": (gaps.GapReason.REFUSED,),
            "Risposta sbagliata": (gaps.GapReason.THUMBS_DOWN,),
        }
        assert stats.reply_outcomes(session=session, since=since) == {
            "answer": 3,
            "clarify": 0,
            "escalate": 1,
            "refuse": 1,
        }
        assert stats.satisfaction(session=session, since=since) == {"up": 1, "down": 1}
        days = stats.questions_per_day(
            session=session,
            since=now - timedelta(days=2),
            until=now + timedelta(seconds=1),
            tz=ZoneInfo("Europe/Rome"),
        )
        assert sum(n for _, n in days) == 5 and len(days) in (3, 4)


def test_desk_figures_and_console_queries(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    now = NOW
    with sessions.begin() as session:
        world = build_world(session)
        booked = open_ticket(session, settings, now=now - timedelta(hours=5))
        replied = open_ticket(session, settings, now=now - timedelta(hours=3))
        open_ticket(session, settings, topic="volontari", now=now - timedelta(hours=1))
        offer = scheduling.offer_slots_for_ticket(
            booked.id, session=session, settings=settings, now=now
        )[0]
        scheduling.book(booked.id, offer.slot_id, session=session, settings=settings, now=now)
        tickets.reply(
            replied.id,
            world.fiscal,
            "Ecco la risposta.",
            session=session,
            now=now - timedelta(hours=1),
        )
    with sessions.begin() as session:
        counts = desk_stats.tickets_by_status(session=session)
        assert counts[TicketStatus.NEW] == 1 and counts[TicketStatus.SCHEDULED] == 1
        assert counts[TicketStatus.ANSWERED] == 1 and counts[TicketStatus.CLOSED] == 0
        median = desk_stats.median_first_reply_hours(session=session)
        assert median is not None and abs(median - 2.0) < 0.01
        assert desk_stats.bookings_per_desk(session=session)[offer.desk_name] == 1
        replies = desk_stats.expert_replies(session=session)
        assert [r.answer for r in replies] == ["Ecco la risposta."]
        assert replies[0].expert_name == "Esperta fisco"
        at_desk = queue.queue(session=session, desk_id=offer.desk_id)
        assert [t.id for t in at_desk] == [booked.id]
        mine = queue.queue(
            session=session, expert_id=world.fiscal, statuses=list(queue.OPEN_STATUSES)
        )
        assert replied.id in {t.id for t in mine}
        agenda = queue.appointments(offer.expert_id, session=session, now=now, days=60)
        assert [b.ticket_id for b in agenda] == [booked.id]
