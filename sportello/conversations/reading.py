"""Reading conversations back: a person's own thread, full transcripts, delivered notices."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from sportello.conversations import queries
from sportello.conversations.models import Channel, Conversation, Message, Role

DELIVERED_KEEP = 200  # delivery keys remembered per conversation (older ones cannot repeat)


def own_conversation(
    *, session: Session, channel: Channel, external_ref: str
) -> Conversation | None:
    """The latest conversation of this person on this channel (never anyone else's)."""
    return queries.latest_conversation(session, channel, external_ref)


def transcript(
    *, session: Session, conversation_id: int, after_id: int = 0, limit: int = 500
) -> list[Message]:
    """The conversation's messages in order, optionally only those after `after_id`."""
    return queries.messages_after(session, conversation_id, after_id, limit)


def feedback_values(*, session: Session, message_ids: Collection[int]) -> dict[int, int]:
    """message id → +1/-1 for the replies that were rated."""
    return queries.feedback_values(session, message_ids) if message_ids else {}


def record_notice(*, session: Session, conversation: Conversation, key: str, text: str) -> bool:
    """Add a system notice to the thread once per delivery `key`; False if already there.

    The key is kept in the conversation's state in the same transaction as the message, so a
    delivery retried after a crash does not show the notice twice.
    """
    state = dict(conversation.state or {})
    delivered = [str(k) for k in state.get("delivered", [])]  # type: ignore[attr-defined]
    if key in delivered:
        return False
    session.add(Message(conversation_id=conversation.id, role=Role.SYSTEM, text=text, citations=[]))
    state["delivered"] = [*delivered, key][-DELIVERED_KEEP:]
    conversation.state = state
    session.flush()
    return True
