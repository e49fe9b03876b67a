"""Internal notes on a ticket: written by experts and staff, never shown to the volunteer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sportello.desk.models import TicketNote
from sportello.desk.tickets import queries
from sportello.desk.tickets.events import load_ticket
from sportello.errors import ErrorCode, SportelloError

NOTE_MAX = 4000


def add_note(
    ticket_id: int, author: str, text: str, *, session: Session, now: datetime
) -> TicketNote:
    text = text.strip()
    if not text:
        raise SportelloError(ErrorCode.INVALID_INPUT, "La nota è vuota.")
    if len(text) > NOTE_MAX:
        raise SportelloError(ErrorCode.INVALID_INPUT, f"La nota supera {NOTE_MAX} caratteri.")
    load_ticket(session, ticket_id)
    note = TicketNote(ticket_id=ticket_id, author=author, text=text, created_at=now)
    session.add(note)
    session.flush()
    return note


def notes_of(ticket_id: int, *, session: Session) -> list[TicketNote]:
    return queries.notes_of(session, ticket_id)
