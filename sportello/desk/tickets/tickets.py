"""Tickets: opening one from an escalated conversation, claiming, replying, closing, cancelling."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from sportello.clock import aware
from sportello.config import Settings
from sportello.conversations.models import Conversation, Message, Role
from sportello.desk.models import BookingStatus, EventKind, Expert, Ticket, TicketStatus
from sportello.desk.notifications import messages, notify
from sportello.desk.scheduling import bookings
from sportello.desk.scheduling import queries as scheduling_queries
from sportello.desk.scheduling.slots import check_topic, experts_for_topic
from sportello.desk.tickets import queries as ticket_queries
from sportello.desk.tickets import reports as queue
from sportello.desk.tickets.events import load_expert, load_ticket, log_event
from sportello.desk.tickets.states import ALLOWED, Action, Actor, ActorKind, illegal, require
from sportello.errors import ErrorCode, SportelloError

SUMMARY_MAX = 4000
OPEN_AND_OWNED = {TicketStatus.ASSIGNED, TicketStatus.SCHEDULED, TicketStatus.ANSWERED}


def ticket_code(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year}-{number:04d}"


def open_ticket(
    conversation: Conversation | None,
    topic: str,
    summary: str,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    channel: str | None = None,
    volunteer_ref: str | None = None,
) -> Ticket:
    """Open a ticket for an escalated conversation and tell the experts covering the topic.

    The public code (SPT-2026-0042) comes from a per-year counter bumped by one atomic
    upsert, so concurrent openings never share a number on SQLite or PostgreSQL.
    """
    moment = aware(now)
    check_topic(topic)
    summary = summary.strip()
    if not summary:
        raise SportelloError(ErrorCode.INVALID_INPUT, "Descrivi brevemente la tua richiesta.")
    if conversation is not None and conversation.id is None:
        session.flush([conversation])
    channel = channel or (str(conversation.channel) if conversation is not None else None)
    if not channel:
        raise SportelloError(ErrorCode.INVALID_INPUT, "Manca il canale della richiesta.")
    year = moment.astimezone(ZoneInfo(settings.desk_timezone)).year
    number = ticket_queries.next_ticket_number(session, year)
    ticket = Ticket(
        code=ticket_code(settings.desk_ticket_prefix, year, number),
        conversation_id=conversation.id if conversation is not None else None,
        channel=channel,
        volunteer_ref=volunteer_ref or (conversation.external_ref if conversation else None),
        topic=topic,
        summary=summary[:SUMMARY_MAX],
        status=TicketStatus.NEW,
        created_at=moment,
        updated_at=moment,
    )
    session.add(ticket)
    session.flush([ticket])
    log_event(session, ticket.id, Actor.volunteer(), EventKind.OPENED, moment, topic=topic)
    notify.new_ticket(session, ticket, experts_for_topic(topic, session=session), moment)
    return ticket


def volunteer_wrote(conversation_id: int, text: str, *, session: Session, now: datetime) -> int:
    """The volunteer wrote again in a conversation with open tickets: the experts following
    them hear of it (by e-mail, when they asked for it). Returns how many tickets were told.

    Called by the volunteer use case once the message is stored (see the issue 17 notes).
    """
    moment = aware(now)
    told = 0
    for ticket in queue.tickets_of_conversation(conversation_id, session=session):
        if ticket.status in OPEN_AND_OWNED and ticket.assigned_expert is not None:
            notify.volunteer_wrote(session, ticket, text, moment)
            told += 1
    return told


def _refuse_claim(ticket: Ticket, expert_id: int, action: Action) -> SportelloError:
    other = ticket.assigned_expert
    finished = ticket.status in (TicketStatus.CLOSED, TicketStatus.CANCELLED)
    if other is not None and other.id != expert_id and not finished:
        return SportelloError(
            ErrorCode.CONFLICT,
            f"Il ticket {ticket.code} è già stato preso in carico da {other.name}.",
        )
    return illegal(ticket.code, ticket.status, action)


def claim(ticket_id: int, expert_id: int, *, session: Session, now: datetime) -> Ticket:
    """Assign the ticket to the expert; of concurrent claims exactly one wins (CONFLICT else).

    The win is a conditional UPDATE (`WHERE status = 'new' AND assigned_expert_id IS NULL`)
    whose row count tells who got it; no read-then-write window.
    """
    moment = aware(now)
    ticket = load_ticket(session, ticket_id)
    expert = load_expert(session, expert_id)
    if ticket.assigned_expert_id == expert.id and ticket.status in OPEN_AND_OWNED:
        return ticket  # already theirs: claiming twice is harmless
    if ticket.status != TicketStatus.NEW or ticket.assigned_expert_id is not None:
        raise _refuse_claim(ticket, expert.id, Action.CLAIM)
    won = ticket_queries.update_ticket_if(
        session,
        ticket.id,
        statuses=ALLOWED[Action.CLAIM],
        unassigned=True,
        assigned_at=moment,
        values={
            "status": TicketStatus.ASSIGNED,
            "assigned_expert_id": expert.id,
            "updated_at": moment,
        },
    )
    session.refresh(ticket)
    if not won:
        raise _refuse_claim(ticket, expert.id, Action.CLAIM)
    log_event(session, ticket.id, Actor.expert(expert.id), EventKind.CLAIMED, moment)
    return ticket


def _own(ticket: Ticket, expert: Expert) -> None:
    if ticket.assigned_expert is not None and ticket.assigned_expert.id != expert.id:
        raise SportelloError(
            ErrorCode.FORBIDDEN,
            f"Il ticket {ticket.code} è seguito da {ticket.assigned_expert.name}.",
        )


def reply(
    ticket_id: int,
    expert_id: int,
    text: str,
    *,
    session: Session,
    now: datetime,
) -> Ticket:
    """The expert answers in writing: queued to the volunteer's channel, stored in the chat.

    A new ticket is claimed by whoever replies. The ticket becomes `answered`, except while an
    appointment is still ahead (it stays `scheduled`).
    """
    moment = aware(now)
    text = text.strip()
    if not text:
        raise SportelloError(ErrorCode.INVALID_INPUT, "La risposta è vuota.")
    ticket = load_ticket(session, ticket_id)
    expert = load_expert(session, expert_id)
    require(ticket.code, ticket.status, Action.REPLY)
    _own(ticket, expert)
    if ticket.status == TicketStatus.NEW:
        claim(ticket.id, expert.id, session=session, now=moment)
    status = ticket.status
    target = TicketStatus.ANSWERED
    if status == TicketStatus.SCHEDULED:
        booking = scheduling_queries.active_booking_of(session, ticket.id)
        if booking is not None and booking.slot.starts_at > moment:
            target = TicketStatus.SCHEDULED
    won = ticket_queries.update_ticket_if(
        session,
        ticket.id,
        statuses={status},
        values={"status": target, "updated_at": moment},
    )
    session.refresh(ticket)
    if not won:
        raise illegal(ticket.code, ticket.status, Action.REPLY)
    if ticket.conversation_id is not None:
        session.add(
            Message(
                conversation_id=ticket.conversation_id,
                role=Role.EXPERT,
                text=text,
                topic=ticket.topic,
                created_at=moment,
            )
        )
    log_event(session, ticket.id, Actor.expert(expert.id), EventKind.REPLIED, moment, text=text)
    notify.replied(session, ticket, expert, text, moment)
    return ticket


def close(
    ticket_id: int,
    outcome: str,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    actor: Actor | None = None,
) -> Ticket:
    """Close the ticket with its outcome (a past appointment counts as held)."""
    moment, actor = aware(now), actor or Actor.system()
    outcome = outcome.strip()
    if not outcome:
        raise SportelloError(ErrorCode.INVALID_INPUT, "Indica l'esito della richiesta.")
    ticket = load_ticket(session, ticket_id)
    require(ticket.code, ticket.status, Action.CLOSE)
    if actor.kind == ActorKind.EXPERT and actor.ref is not None:
        _own(ticket, load_expert(session, int(actor.ref)))
    booking = scheduling_queries.active_booking_of(session, ticket.id)
    if booking is not None and booking.slot.starts_at > moment:
        raise SportelloError(
            ErrorCode.ILLEGAL_TRANSITION,
            f"Il ticket {ticket.code} ha un appuntamento "
            f"{messages.when(booking.slot.starts_at, ZoneInfo(settings.desk_timezone))}: "
            "annullalo prima di chiudere il ticket.",
        )
    won = ticket_queries.update_ticket_if(
        session,
        ticket.id,
        statuses={ticket.status},
        values={
            "status": TicketStatus.CLOSED,
            "outcome": outcome,
            "closed_at": moment,
            "updated_at": moment,
        },
    )
    session.refresh(ticket)
    if not won:
        raise illegal(ticket.code, ticket.status, Action.CLOSE)
    if booking is not None:
        scheduling_queries.update_booking_if(
            session,
            booking.id,
            status=BookingStatus.ACTIVE,
            values={"status": BookingStatus.COMPLETED},
        )
    log_event(session, ticket.id, actor, EventKind.CLOSED, moment, outcome=outcome)
    notify.closed(session, ticket, moment)
    return ticket


def cancel_ticket(
    ticket_id: int,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    actor: Actor | None = None,
    reason: str | None = None,
) -> Ticket:
    """Withdraw the request; an appointment still ahead is cancelled (same notice rule)."""
    moment, actor = aware(now), actor or Actor.volunteer()
    ticket = load_ticket(session, ticket_id)
    require(ticket.code, ticket.status, Action.CANCEL)
    booking = scheduling_queries.active_booking_of(session, ticket.id)
    if booking is not None:
        bookings.cancel(
            booking.id,
            session=session,
            settings=settings,
            now=moment,
            actor=actor,
            reason=reason,
        )
        session.refresh(ticket)
    won = ticket_queries.update_ticket_if(
        session,
        ticket.id,
        statuses=ALLOWED[Action.CANCEL],
        values={"status": TicketStatus.CANCELLED, "closed_at": moment, "updated_at": moment},
    )
    session.refresh(ticket)
    if not won:
        raise illegal(ticket.code, ticket.status, Action.CANCEL)
    log_event(session, ticket.id, actor, EventKind.CANCELLED, moment, reason=reason)
    if booking is None:  # otherwise the cancellation of the appointment already told them
        notify.ticket_cancelled(session, ticket, moment)
    return ticket


def list_tickets(
    *, session: Session, statuses: list[TicketStatus] | None = None, limit: int = 100
) -> list[Ticket]:
    """Most recent tickets first, with their expert and bookings loaded."""
    return ticket_queries.list_tickets(session, statuses=statuses, limit=limit)


def ticket_by_code(code: str, *, session: Session) -> Ticket | None:
    """The ticket with this code (spaces and case ignored), or None."""
    return ticket_queries.get_ticket_by_code(session, code.strip().upper())


def find_ticket(code: str, *, session: Session) -> Ticket:
    ticket = ticket_by_code(code, session=session)
    if ticket is None:
        raise SportelloError(ErrorCode.NOT_FOUND, f"Nessuna richiesta con codice {code}.")
    return ticket
