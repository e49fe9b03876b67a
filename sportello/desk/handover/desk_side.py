"""What the hand-over asks of the desk: the person's own booking, the flow's ticket, a page of slots."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sportello.config import Settings
from sportello.conversations.models import Conversation
from sportello.desk import scheduling, tickets
from sportello.desk.handover.state import HandoverState
from sportello.desk.models import Booking, Ticket, TicketStatus
from sportello.desk.schemas import SlotOffer
from sportello.errors import ErrorCode, SportelloError

SLOTS_PER_PAGE = 5
CLOSED_STATUSES = frozenset({TicketStatus.CLOSED, TicketStatus.CANCELLED})


def owned_booking(
    channel: str, external_ref: str | None, booking_id: int, *, session: Session
) -> Booking:
    """The booking, if its ticket came from this person on this channel (else NOT_FOUND)."""
    booking = session.get(Booking, booking_id)
    if (
        booking is None
        or external_ref is None
        or booking.ticket.channel != str(channel)
        or booking.ticket.volunteer_ref != external_ref
    ):
        raise SportelloError(ErrorCode.NOT_FOUND, "Appuntamento non trovato.")
    return booking


def ticket_open(session: Session, ticket_id: object) -> bool:
    if not isinstance(ticket_id, int):
        return False
    ticket = session.get(Ticket, ticket_id)
    return ticket is not None and TicketStatus(ticket.status) not in CLOSED_STATUSES


def ensure_ticket(
    conversation: Conversation,
    flow: HandoverState,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> Ticket:
    """The flow's ticket, opened now (experts are told) if it has none yet."""
    if flow.ticket_id:
        ticket = session.get(Ticket, flow.ticket_id)
        if ticket is not None:
            return ticket
    ticket = tickets.open_ticket(
        conversation,
        str(flow.topic),
        str(flow.summary or ""),
        session=session,
        settings=settings,
        now=now,
    )
    flow.ticket_id, flow.ticket_code = ticket.id, ticket.code
    return ticket


def find_slots(
    flow: HandoverState,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    after: datetime | None = None,
    exclude: int | None = None,
) -> list[SlotOffer]:
    ticket_id = flow.ticket_id
    if ticket_id:  # an existing ticket keeps its expert once assigned
        offers = scheduling.offer_slots_for_ticket(
            int(ticket_id),
            session=session,
            settings=settings,
            now=now,
            limit=SLOTS_PER_PAGE + 1,
            after=after,
        )
    else:
        offers = scheduling.offer_slots(
            str(flow.topic),
            session=session,
            settings=settings,
            now=now,
            limit=SLOTS_PER_PAGE + 1,
            after=after,
        )
    return [o for o in offers if o.slot_id != exclude][:SLOTS_PER_PAGE]
