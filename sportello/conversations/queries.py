"""SQL of the conversations domain (the only place it runs)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from sportello.conversations.models import Channel, Conversation, Feedback, Message


def conversation_by_public_id(session: Session, public_id: str) -> Conversation | None:
    return session.scalar(select(Conversation).where(Conversation.public_id == public_id))


def latest_conversation(
    session: Session, channel: Channel, external_ref: str
) -> Conversation | None:
    return session.scalar(
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.external_ref == external_ref)
        .order_by(Conversation.id.desc())
        .limit(1)
    )


def recent_messages(session: Session, conversation_id: int, limit: int) -> list[Message]:
    rows = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(reversed(list(rows)))


def feedback_for(session: Session, message_id: int) -> Feedback | None:
    return session.scalar(select(Feedback).where(Feedback.message_id == message_id))


def messages_after(
    session: Session, conversation_id: int, after_id: int, limit: int
) -> list[Message]:
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id > after_id)
        .order_by(Message.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def feedback_values(session: Session, message_ids: Collection[int]) -> dict[int, int]:
    stmt = select(Feedback.message_id, Feedback.value).where(
        Feedback.message_id.in_(list(message_ids))
    )
    return {int(m): int(v) for m, v in session.execute(stmt)}
