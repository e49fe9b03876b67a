"""SQL of the conversations domain (the only place it runs)."""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session

from sportello.conversations.models import Channel, Conversation, Feedback, Message, Role


class Recent(NamedTuple):
    """A recent message as the assistant reads it (its citations and stamps are not read)."""

    role: str
    text: str
    topic: str | None
    action: str | None


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


@lru_cache(maxsize=8)
def _latest_with_recent(limit: int) -> Select[Conversation, Role, str, str | None, str | None]:
    """Built once per limit, with bound parameters: building a statement and its cache key
    cost more than the rest of this read."""
    latest = (
        select(Conversation.id)
        .where(
            Conversation.channel == bindparam("channel"),
            Conversation.external_ref == bindparam("external_ref"),
        )
        .order_by(Conversation.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(Conversation, Message.role, Message.text, Message.topic, Message.action)
        .outerjoin(Message, Message.conversation_id == Conversation.id)
        .where(Conversation.id == latest)
        .order_by(Message.id.desc())
        .limit(limit)
    )


def latest_with_recent(
    session: Session, channel: Channel, external_ref: str, limit: int
) -> tuple[Conversation | None, list[Recent]]:
    """The person's latest conversation on a channel and its last `limit` messages (oldest
    first; what the assistant reads of them, not whole rows), in one round trip: the chat
    reads both for every message it receives."""
    rows = session.execute(
        _latest_with_recent(limit), {"channel": channel, "external_ref": external_ref}
    ).all()
    if not rows:
        return None, []
    recent = [
        Recent(r.role, r.text, r.topic, r.action) for r in reversed(rows) if r.role is not None
    ]
    return rows[0][0], recent


def set_language(session: Session, conversation_id: int, language: str) -> None:
    session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(language=language)
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
