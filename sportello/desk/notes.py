"""Internal notes on a ticket: written by experts and staff, never shown to the volunteer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sportello.db.base import Base, UTCDateTime, stamp
from sportello.desk.events import load_ticket
from sportello.errors import ErrorCode, SportelloError

NOTE_MAX = 4000


class TicketNote(Base):
    __tablename__ = "ticket_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(200))  # display name at the time of writing
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)


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
    return list(
        session.scalars(
            select(TicketNote).where(TicketNote.ticket_id == ticket_id).order_by(TicketNote.id)
        )
    )
