"""Conversation rules: start or find a conversation, record turns and feedback."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sportello.answering.schemas import Reply, Turn
from sportello.conversations import queries
from sportello.conversations.models import Channel, Conversation, Feedback, Message, Role
from sportello.errors import ErrorCode, SportelloError

HISTORY_TURNS = 6


def start(
    *, session: Session, channel: Channel, external_ref: str | None = None, language: str = "it"
) -> Conversation:
    conversation = Conversation(
        channel=channel, external_ref=external_ref, language=language, state={}
    )
    session.add(conversation)
    session.flush()
    return conversation


def get(*, session: Session, public_id: str) -> Conversation:
    conversation = queries.conversation_by_public_id(session, public_id)
    if conversation is None:
        raise SportelloError(ErrorCode.NOT_FOUND, "conversazione non trovata")
    return conversation


def find_or_start(*, session: Session, channel: Channel, external_ref: str) -> Conversation:
    """The person's current conversation on a channel, or a new one."""
    found = queries.latest_conversation(session, channel, external_ref)
    return found or start(session=session, channel=channel, external_ref=external_ref)


def history(
    *, session: Session, conversation: Conversation, limit: int = HISTORY_TURNS
) -> list[Turn]:
    return [turn(m) for m in queries.recent_messages(session, conversation.id, limit)]


def turn(message: Message) -> Turn:
    return Turn(role=message.role, text=message.text, topic=message.topic, action=message.action)


def reply_message(conversation_id: int, reply: Reply) -> Message:
    """The assistant's reply as a row of the thread."""
    return Message(
        conversation_id=conversation_id,
        role=Role.ASSISTANT,
        text=reply.text,  # the body: citations stay data, each channel lists them
        action=reply.action.value,
        confidence=reply.confidence,
        topic=reply.topic,
        citations=[c.as_dict() for c in reply.citations],
    )


def record_message(
    *, session: Session, conversation: Conversation, role: Role, text: str
) -> Message:
    """An expert's or system message in the thread (hand-over notices, expert replies)."""
    message = Message(conversation_id=conversation.id, role=role, text=text, citations=[])
    session.add(message)
    session.flush()
    return message


def give_feedback(
    *,
    session: Session,
    conversation: Conversation,
    message_id: int,
    value: int,
    comment: str | None = None,
) -> Feedback:
    """Thumbs up (+1) or down (-1) on one of this conversation's replies; a second vote replaces."""
    if value not in (1, -1):
        raise SportelloError(ErrorCode.INVALID_INPUT, "il voto deve essere +1 o -1")
    message = session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id:
        raise SportelloError(ErrorCode.NOT_FOUND, "messaggio non trovato")
    if message.role != Role.ASSISTANT:
        raise SportelloError(ErrorCode.INVALID_INPUT, "si può votare solo una risposta")
    feedback = queries.feedback_for(session, message_id)
    if feedback is None:
        feedback = Feedback(message_id=message_id, value=value, comment=comment)
        session.add(feedback)
    else:
        feedback.value, feedback.comment = value, comment
    session.flush()
    return feedback
