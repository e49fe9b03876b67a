"""What people do from a chat outside the hand-over flow, for every chat channel.

Volunteers, identified by (channel, external_ref) — the Telegram chat id, the web token:

    appointments(channel, ref, session=s, settings=cfg)        -> list[Appointment]  (/appuntamenti)
    cancel_appointment(channel, ref, booking_id, session=s, settings=cfg) -> Ticket
    rate_ticket(channel, ref, code, score, session=s)          -> Ticket  (1–5 after closure)

Experts who linked a chat (`Expert.telegram_chat_id`):

    expert_for_chat(chat_ref, session=s)                        -> Expert | None
    expert_claim(chat_ref, code, session=s)                     -> Ticket  ("Prendo io")
    expert_reply(chat_ref, code, text, session=s)               -> Ticket  (reply to a message)

Like every desk function: the caller owns the session and the transaction; nothing commits.
The few SELECTs here are specific to these chat-side views (person's bookings, expert by chat).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sportello.config import Settings
from sportello.desk import queries as desk_queries
from sportello.desk import scheduling, tickets
from sportello.desk.handover.desk_side import owned_booking
from sportello.desk.models import (
    EventKind,
    Expert,
    Ticket,
    TicketStatus,
)
from sportello.desk.scheduling import queries as scheduling_queries
from sportello.desk.tickets.states import Actor
from sportello.errors import ErrorCode, SportelloError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Appointment:
    booking_id: int
    ticket_code: str
    details: str  # plain Italian: when, where, with whom
    can_cancel: bool
    can_move: bool


def appointments(
    channel: str,
    external_ref: str,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> list[Appointment]:
    """The person's appointments still ahead, earliest first."""
    moment = now
    cancel_by = timedelta(hours=settings.desk_cancel_notice_hours)
    move_by = timedelta(hours=settings.desk_reschedule_notice_hours)
    found = []
    for booking in scheduling_queries.bookings_ahead_of(
        session, str(channel), external_ref, moment
    ):
        ahead = booking.slot.starts_at - moment
        found.append(
            Appointment(
                booking_id=booking.id,
                ticket_code=booking.ticket.code,
                details=scheduling.describe(booking, settings),
                can_cancel=ahead >= cancel_by,
                can_move=ahead >= move_by,
            )
        )
    return found


def cancel_appointment(
    channel: str,
    external_ref: str,
    booking_id: int,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> Ticket:
    """Cancel one of the person's appointments (the notice rule applies); the ticket stays open."""
    booking = owned_booking(channel, external_ref, booking_id, session=session)
    scheduling.cancel(
        booking.id, session=session, settings=settings, now=now, actor=Actor.volunteer()
    )
    return booking.ticket


def rate_ticket(
    channel: str, external_ref: str, code: str, score: int, *, session: Session
) -> Ticket:
    """Store the person's satisfaction (1–5) on the closure of their ticket.

    Kept in the detail of the ticket's `closed` event: the question is asked at closure and
    the desk has no column for it yet.
    """
    if score not in range(1, 6):
        raise SportelloError(ErrorCode.INVALID_INPUT, "Il voto va da 1 a 5.")
    ticket = tickets.find_ticket(code, session=session)
    if ticket.channel != str(channel) or ticket.volunteer_ref != external_ref:
        raise SportelloError(ErrorCode.NOT_FOUND, f"Nessuna richiesta con codice {code}.")
    closed = [e for e in ticket.events if e.kind == EventKind.CLOSED]
    if TicketStatus(ticket.status) != TicketStatus.CLOSED or not closed:
        raise SportelloError(ErrorCode.ILLEGAL_TRANSITION, "La richiesta non è ancora chiusa.")
    event = closed[-1]
    event.detail = {**event.detail, "satisfaction": score}
    session.flush()
    return ticket


# --- experts on their linked chat ----------------------------------------------------------------


def expert_for_chat(chat_ref: str, *, session: Session) -> Expert | None:
    """The active expert who linked this chat, if any."""
    return desk_queries.expert_by_chat(session, chat_ref)


def _expert(chat_ref: str, session: Session) -> Expert:
    expert = expert_for_chat(chat_ref, session=session)
    if expert is None:
        raise SportelloError(ErrorCode.FORBIDDEN, "Questa chat non è collegata a un esperto.")
    return expert


def expert_claim(chat_ref: str, code: str, *, session: Session, now: datetime) -> Ticket:
    """The expert of this chat takes the ticket ("Prendo io"); CONFLICT if someone was faster."""
    expert = _expert(chat_ref, session)
    ticket = tickets.find_ticket(code, session=session)
    return tickets.claim(ticket.id, expert.id, session=session, now=now)


def expert_reply(
    chat_ref: str, code: str, reply: str, *, session: Session, now: datetime
) -> Ticket:
    """The expert of this chat answers the ticket in writing (queued to the volunteer)."""
    expert = _expert(chat_ref, session)
    ticket = tickets.find_ticket(code, session=session)
    return tickets.reply(ticket.id, expert.id, reply, session=session, now=now)
