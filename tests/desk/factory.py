"""Small builders for desk tests: desks, experts, rules, tickets at a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sportello.config import Settings
from sportello.desk import scheduling, tickets
from sportello.desk.models import (
    AvailabilityRule,
    Booking,
    BookingStatus,
    DeskKind,
    Expert,
    ExpertTopic,
    HelpDesk,
    OutboxMessage,
    Ticket,
)
from sportello.desk.schemas import SlotOffer
from tests.conftest import NOW

__all__ = ["NOW"]  # the desk tests take the frozen instant from here too


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def add_desk(
    session: Session, slug: str, kind: DeskKind = DeskKind.IN_PERSON, **extra: Any
) -> HelpDesk:
    values: dict[str, Any] = {
        "name": f"Sportello {slug}",
        "address": f"Via di Esempio 1, {slug} (dati dimostrativi)",
        "meeting_link": f"https://meet.example.org/{slug}" if kind == DeskKind.ONLINE else None,
    }
    values.update(extra)
    desk = HelpDesk(slug=slug, kind=kind, **values)
    session.add(desk)
    session.flush()
    return desk


def add_expert(
    session: Session, slug: str, topics: list[str], telegram: str | None = None
) -> Expert:
    expert = Expert(
        slug=slug,
        name=f"Esperta {slug}",
        contact=f"{slug}@example.org",
        telegram_chat_id=telegram,
        topics=[ExpertTopic(topic=t) for t in topics],
    )
    session.add(expert)
    session.flush()
    return expert


def add_rule(
    session: Session,
    expert: Expert,
    desk: HelpDesk,
    weekday: int,
    start: str = "09:00",
    end: str = "12:00",
    minutes: int = 30,
) -> AvailabilityRule:
    rule = AvailabilityRule(
        expert_id=expert.id,
        desk_id=desk.id,
        weekday=weekday,
        start_time=time.fromisoformat(start),
        end_time=time.fromisoformat(end),
        slot_minutes=minutes,
    )
    session.add(rule)
    session.flush()
    return rule


@dataclass
class World:
    """Two in-person desks and one online; experts with distinct topics."""

    ascoli: int
    sbt: int
    online: int
    fiscal: int  # fiscale, bilancio: Ascoli Mon+Tue mornings
    fiscal_online: int  # fiscale: online Wednesday afternoon
    volunteers: int  # volontari: San Benedetto Thursday
    general: int  # sportello: online Friday
    ids: dict[str, int] = field(default_factory=dict)


def build_world(session: Session) -> World:
    ascoli = add_desk(session, "ascoli")
    sbt = add_desk(session, "sbt")
    online = add_desk(session, "online", DeskKind.ONLINE)
    fiscal = add_expert(session, "fisco", ["fiscale", "bilancio"])
    fiscal_online = add_expert(session, "fisco-online", ["fiscale"], telegram="777")
    volunteers = add_expert(session, "volontari", ["volontari"])
    general = add_expert(session, "generale", ["sportello"])
    add_rule(session, fiscal, ascoli, 0)
    add_rule(session, fiscal, ascoli, 1)
    add_rule(session, fiscal_online, online, 2, "15:00", "17:00")
    add_rule(session, volunteers, sbt, 3, "15:00", "18:00", 45)
    add_rule(session, general, online, 4, "10:00", "12:00")
    return World(
        ascoli.id, sbt.id, online.id, fiscal.id, fiscal_online.id, volunteers.id, general.id
    )


def open_ticket(
    session: Session,
    settings: Settings,
    topic: str = "fiscale",
    now: datetime = NOW,
    ref: str = "chat-1",
) -> Ticket:
    return tickets.open_ticket(
        None,
        topic,
        "Come si iscrive un'associazione al 5 per mille?",
        session=session,
        settings=settings,
        now=now,
        channel="telegram",
        volunteer_ref=ref,
    )


def booked_and_answered(
    session: Session,
    settings: Settings,
    expert_id: int,
    *,
    now: datetime = NOW,
    answered_topic: str = "fiscale",
    reply: str = "Risposta.",
) -> tuple[SlotOffer, Ticket]:
    """Two tickets the dashboards count: one booked on its first slot offered (returned), one
    `expert_id` answered."""
    booked = open_ticket(session, settings, now=now)
    offer = scheduling.offer_slots_for_ticket(
        booked.id, session=session, settings=settings, now=now
    )
    scheduling.book(booked.id, offer[0].slot_id, session=session, settings=settings, now=now)
    answered = open_ticket(session, settings, topic=answered_topic, now=now)
    tickets.reply(answered.id, expert_id, reply, session=session, now=now)
    return offer[0], answered


def first_offer(
    session: Session, settings: Settings, topic: str = "fiscale", now: datetime = NOW, **kw: Any
) -> SlotOffer:
    offers = scheduling.offer_slots(topic, session=session, settings=settings, now=now, **kw)
    assert offers, f"no slots for {topic}"
    return offers[0]


def active_bookings(session: Session, slot_id: int) -> int:
    stmt = (
        select(func.count())
        .select_from(Booking)
        .where(Booking.slot_id == slot_id, Booking.status == BookingStatus.ACTIVE)
    )
    return session.scalar(stmt) or 0


def outbox(session: Session, ticket_id: int | None = None) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if ticket_id is not None:
        stmt = stmt.where(OutboxMessage.ticket_id == ticket_id)
    return list(session.scalars(stmt))
