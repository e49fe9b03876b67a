"""A person's data for the operator: who a ticket belongs to, and everything kept about them
(an access request under GDPR art. 15 arrives by e-mail or phone too, not only in the chat)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sportello.desk import tickets
from sportello.errors import ErrorCode, SportelloError
from sportello.privacy import queries as privacy_queries


def owner_of_ticket(code: str, *, session: Session) -> tuple[str, str]:
    """(channel, external reference) of the person who opened ticket `code`."""
    ticket = tickets.find_ticket(code, session=session)
    if not ticket.volunteer_ref:
        raise SportelloError(
            ErrorCode.NOT_FOUND, f"La richiesta {ticket.code} non è più legata a una persona."
        )
    return str(ticket.channel), ticket.volunteer_ref


def _iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") if at else None


def person_data(channel: str, external_ref: str, *, session: Session) -> dict[str, object]:
    """Every conversation (with its messages) and ticket of one person on one channel."""
    conversations = privacy_queries.conversations_by_id(session, channel, external_ref)
    messages = privacy_queries.messages_of(session, [c.id for c in conversations])
    tickets = privacy_queries.tickets_opened_by(session, channel, external_ref)
    return {
        "channel": channel,
        "reference": external_ref,
        "conversations": [
            {
                "started": _iso(c.created_at),
                "messages": [
                    {"at": _iso(m.created_at), "role": str(m.role), "text": m.text}
                    for m in messages
                    if m.conversation_id == c.id
                ],
            }
            for c in conversations
        ],
        "tickets": [
            {
                "code": t.code,
                "status": str(t.status),
                "topic": t.topic,
                "summary": t.summary,
                "opened": _iso(t.created_at),
                "closed": _iso(t.closed_at),
                "outcome": t.outcome,
                "appointments": [
                    {"status": str(b.status), "starts": _iso(b.slot.starts_at)} for b in t.bookings
                ],
            }
            for t in tickets
        ],
    }
