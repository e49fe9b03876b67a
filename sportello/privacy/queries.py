"""Where privacy's SQL runs: finding a person's data, and deleting or blanking it in bulk."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, exists, false, or_, select, update
from sqlalchemy.orm import Session

from sportello.conversations.models import Conversation, Feedback, Message
from sportello.desk.models import OutboxMessage, Ticket, TicketNote


def conversations_of(session: Session, channel: str, external_ref: str) -> list[Conversation]:
    owned = select(Conversation.id).where(
        Conversation.channel == channel, Conversation.external_ref == external_ref
    )
    return list(session.scalars(select(Conversation).where(Conversation.id.in_(owned))))


def tickets_of_person(
    session: Session, channel: str, external_ref: str, conversation_ids: Sequence[int]
) -> list[Ticket]:
    """The person's tickets: opened from this chat, or tied to one of their conversations."""
    return list(
        session.scalars(
            select(Ticket).where(
                or_(
                    (Ticket.channel == channel) & (Ticket.volunteer_ref == external_ref),
                    Ticket.conversation_id.in_(conversation_ids) if conversation_ids else false(),
                )
            )
        )
    )


def outbox_of_tickets(session: Session, ticket_ids: Collection[int]) -> list[OutboxMessage]:
    if not ticket_ids:
        return []
    return list(
        session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id.in_(ticket_ids)))
    )


def delete_outbox_to(session: Session, channel: str, recipient: str) -> None:
    session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.channel == channel, OutboxMessage.recipient == recipient
        )
    )


def blank_notes(session: Session, ticket_ids: Collection[int], marker: str) -> None:
    """Experts' internal notes quote the person ("ho richiamato la signora Rossi")."""
    if ticket_ids:
        session.execute(
            update(TicketNote).where(TicketNote.ticket_id.in_(ticket_ids)).values(text=marker)
        )


def expired_conversations(
    session: Session, cutoff: datetime, finished: Collection[str]
) -> list[int]:
    """Ids of the conversations with no activity since `cutoff` and no open ticket."""
    recent_message = exists().where(
        Message.conversation_id == Conversation.id, Message.created_at >= cutoff
    )
    open_ticket = exists().where(
        Ticket.conversation_id == Conversation.id, Ticket.status.not_in(finished)
    )
    stmt = (
        select(Conversation.id)
        .where(Conversation.updated_at < cutoff, ~recent_message, ~open_ticket)
        .order_by(Conversation.id)
    )
    return list(session.scalars(stmt))


def tickets_of_conversations(session: Session, conversation_ids: Collection[int]) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(Ticket.conversation_id.in_(conversation_ids))))


def delete_conversations(session: Session, conversation_ids: Collection[int]) -> tuple[int, int]:
    """Delete the conversations with their messages and votes: (messages, conversations)."""
    in_batch = select(Message.id).where(Message.conversation_id.in_(conversation_ids))
    session.execute(delete(Feedback).where(Feedback.message_id.in_(in_batch)))
    messages = session.execute(  # type: ignore[attr-defined]
        delete(Message).where(Message.conversation_id.in_(conversation_ids))
    ).rowcount
    conversations = session.execute(  # type: ignore[attr-defined]
        delete(Conversation).where(Conversation.id.in_(conversation_ids))
    ).rowcount
    return int(messages), int(conversations)


def conversations_by_id(session: Session, channel: str, external_ref: str) -> list[Conversation]:
    """The person's conversations on one channel, oldest first."""
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.channel == channel, Conversation.external_ref == external_ref)
            .order_by(Conversation.id)
        )
    )


def messages_of(session: Session, conversation_ids: Sequence[int]) -> list[Message]:
    if not conversation_ids:
        return []
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id.in_(list(conversation_ids)))
            .order_by(Message.id)
        )
    )


def tickets_opened_by(session: Session, channel: str, external_ref: str) -> list[Ticket]:
    """Tickets opened from this person's chat, oldest first."""
    return list(
        session.scalars(
            select(Ticket)
            .where(Ticket.channel == channel, Ticket.volunteer_ref == external_ref)
            .order_by(Ticket.id)
        )
    )
