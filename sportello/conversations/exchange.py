"""One question in, one reply out: what a chat message writes and reads of its conversation.

The use case runs a message in two short transactions and computes the reply between them,
holding none (sportello.usecases.volunteer): the first finds the conversation and its recent
turns (one query) and stores the question; the second stores the reply with its citations.
The question is committed before the assistant starts, the reply before the channel sends it,
so a crash at any point loses nothing that was said; and no write transaction waits on the
embedding model (on SQLite it would hold the database's one write lock all that time).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from sportello.answering.schemas import Reply, Turn
from sportello.conversations import queries, service
from sportello.conversations.models import Channel, Conversation, Message, Role
from sportello.logging_setup import bind_conversation


@dataclass(frozen=True)
class Thread:
    """The person's current conversation and its last turns, read once per message."""

    conversation: Conversation
    history: list[Turn]


@dataclass(frozen=True)
class Asked:
    """A stored question: what the assistant needs, and where its reply goes."""

    conversation_id: int
    public_id: str
    language: str
    history: list[Turn]  # the turns before the question


def open_thread(
    *, session: Session, channel: Channel, external_ref: str, limit: int = service.HISTORY_TURNS
) -> Thread:
    """The person's latest conversation on a channel (a new one if none) with its recent turns."""
    conversation, recent = queries.latest_with_recent(session, channel, external_ref, limit)
    if conversation is None:
        conversation = service.start(session=session, channel=channel, external_ref=external_ref)
    bind_conversation(conversation.public_id)  # the log lines that follow carry it
    return Thread(conversation, [Turn(m.role, m.text, m.topic, m.action) for m in recent])


def record_question(*, session: Session, thread: Thread, text: str) -> Asked:
    conversation = thread.conversation
    session.add(Message(conversation_id=conversation.id, role=Role.USER, text=text, citations=[]))
    session.flush()
    return Asked(conversation.id, conversation.public_id, conversation.language, thread.history)


def record_reply(*, session: Session, asked: Asked, reply: Reply) -> Message:
    """Store the reply (its citations as data); the conversation row is written only when the
    reply's language differs."""
    message = service.reply_message(asked.conversation_id, reply)
    session.add(message)
    if reply.language != asked.language:
        queries.set_language(session, asked.conversation_id, reply.language)
    session.flush()
    return message
