"""Erasure: a person asks to be forgotten; finished tickets are anonymised (also by retention).

It spans conversations and the desk, so it lives here, above both: neither imports it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from sportello.config import Settings
from sportello.desk.models import OutboxStatus, Ticket, TicketStatus
from sportello.desk.tickets import ALLOWED, Action, Actor, cancel_ticket
from sportello.errors import SportelloError
from sportello.privacy import queries

logger = logging.getLogger(__name__)

ERASED = "[cancellato su richiesta della persona]"
ERASE_REASON = "la persona ha chiesto la cancellazione dei suoi dati"
PERSONAL_EVENT_KEYS = ("text", "reason", "outcome")


@dataclass(frozen=True)
class Erasure:
    conversations: int
    messages: int
    tickets: int


def erase_person(
    channel: str,
    external_ref: str,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> Erasure:
    """Forget a person: their conversations and messages go, their tickets stay anonymised.

    Open tickets are cancelled first (the expert is told, without the person's description);
    messages still to be sent to the person are dropped, and the texts of messages already
    sent about their tickets are blanked, and so are the experts' notes on them and the reasons
    given for cancelling their appointments. Bookings and the ticket history stay for the
    statistics, with no personal text in them.
    """
    channel = str(channel)
    convs = queries.conversations_of(session, channel, external_ref)
    tickets = queries.tickets_of_person(session, channel, external_ref, [c.id for c in convs])
    # Messages queued before now quote the description: the ones not yet sent are dropped
    # (the cancellation below tells the experts), the sent ones are blanked.
    earlier = queries.outbox_of_tickets(session, [t.id for t in tickets])
    for ticket in tickets:
        ticket.summary = ERASED
    session.flush()
    for ticket in tickets:
        if TicketStatus(ticket.status) not in ALLOWED[Action.CANCEL]:
            continue
        try:
            cancel_ticket(
                ticket.id,
                session=session,
                settings=settings,
                now=now,
                actor=Actor.system(),
                reason=ERASE_REASON,
            )
        except SportelloError:
            # An appointment already under way cannot be cancelled: the ticket stays open for
            # the expert to close, anonymised like the others.
            logger.warning("erasure: ticket %s left open (%s)", ticket.code, ticket.status)
    _strip_personal(tickets, ERASED, session=session)
    for row in earlier:
        if row.channel == channel and row.recipient == external_ref:
            continue  # deleted below with every message to the person
        if row.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            session.delete(row)
        else:
            row.body, row.payload = ERASED, {}
    session.flush()
    queries.delete_outbox_to(session, channel, external_ref)
    messages = sum(len(c.messages) for c in convs)
    for conversation in convs:
        session.delete(conversation)
    session.flush()
    return Erasure(conversations=len(convs), messages=messages, tickets=len(tickets))


def anonymise_tickets(tickets: list[Ticket], marker: str, *, session: Session) -> None:
    """Keep finished tickets for the statistics with no personal text left in them (retention):
    the description, outcome, event texts, notes, cancel reasons and desk messages go."""
    for ticket in tickets:
        ticket.summary = marker
    _strip_personal(tickets, marker, session=session)
    for row in queries.outbox_of_tickets(session, [t.id for t in tickets]):
        if row.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            session.delete(row)
        else:
            row.body, row.payload = marker, {}
    session.flush()


def _strip_personal(tickets: list[Ticket], marker: str, *, session: Session) -> None:
    """Cut a ticket's ties to the person and every text that may quote them."""
    for ticket in tickets:
        ticket.volunteer_ref = None
        ticket.conversation_id = None
        if ticket.outcome:
            ticket.outcome = marker
        for booking in ticket.bookings:
            if booking.cancel_reason and booking.cancel_reason != ERASE_REASON:
                booking.cancel_reason = marker
        for event in ticket.events:
            if any(k in event.detail for k in PERSONAL_EVENT_KEYS):
                event.detail = {
                    k: v for k, v in event.detail.items() if k not in PERSONAL_EVENT_KEYS
                }
    # Experts' internal notes quote the person ("ho richiamato la signora Rossi"): blanked too.
    queries.blank_notes(session, [t.id for t in tickets], marker)
