"""Loading what a service acts on (or a NOT_FOUND people can read) and the ticket event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sportello.desk import queries as desk_queries
from sportello.desk.models import Booking, EventKind, Expert, Slot, Ticket, TicketEvent
from sportello.desk.scheduling import queries as scheduling_queries
from sportello.desk.tickets import queries as ticket_queries
from sportello.desk.tickets.states import Actor
from sportello.errors import ErrorCode, SportelloError


def log_event(
    session: Session, ticket_id: int, actor: Actor, kind: EventKind, at: datetime, **detail: Any
) -> TicketEvent:
    """Append who did what, when, to the ticket's history (same transaction as the change)."""
    event = TicketEvent(ticket_id=ticket_id, actor=str(actor), kind=kind, at=at, detail=detail)
    session.add(event)
    return event


def load_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = ticket_queries.get_ticket(session, ticket_id)
    if ticket is None:
        raise SportelloError(ErrorCode.NOT_FOUND, "Richiesta non trovata.")
    return ticket


def load_expert(session: Session, expert_id: int) -> Expert:
    expert = desk_queries.get_expert(session, expert_id)
    if expert is None or not expert.active:
        raise SportelloError(ErrorCode.NOT_FOUND, "Esperto non trovato o non attivo.")
    return expert


def load_slot(session: Session, slot_id: int) -> tuple[Slot, bool]:
    """The slot and whether it is booked right now."""
    found = scheduling_queries.get_slot(session, slot_id)
    if found is None:
        raise SportelloError(ErrorCode.NOT_FOUND, "Orario non trovato.")
    return found


def load_booking(session: Session, booking_id: int) -> Booking:
    booking = scheduling_queries.get_booking(session, booking_id)
    if booking is None:
        raise SportelloError(ErrorCode.NOT_FOUND, "Appuntamento non trovato.")
    return booking
