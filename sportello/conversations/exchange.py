"""One question in, one reply out: the service a channel calls for free text.

The person's message is committed before the assistant runs, and the reply is committed
before the channel sends it, so a crash at any point loses nothing that was said.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from sportello.answering.schemas import Reply, Turn
from sportello.conversations import service
from sportello.conversations.models import Channel
from sportello.logging_setup import bind_conversation


class Answerer(Protocol):
    """What the exchange needs of the assistant (sportello.answering.assistant.Assistant)."""

    def reply(self, history: list[Turn], text: str) -> Reply: ...

    def stream(self, history: list[Turn], text: str) -> Iterator[str | Reply]: ...


@dataclass(frozen=True)
class ExchangeResult:
    reply: Reply
    conversation_id: str  # public id
    message_id: int  # the stored reply, for feedback buttons


class Exchange:
    def __init__(self, sessions: sessionmaker[Session], assistant: Answerer) -> None:
        self.sessions = sessions
        self.assistant = assistant

    def ask(
        self,
        text: str,
        *,
        public_id: str | None = None,
        channel: Channel = Channel.WEB,
        external_ref: str | None = None,
    ) -> ExchangeResult:
        """Store the question, compute the reply with the conversation's history, store it."""
        history, conversation_pk, conversation_public = self._record_question(
            text, public_id, channel, external_ref
        )
        reply = self.assistant.reply(history, text)
        return self._record_reply(reply, conversation_pk, conversation_public)

    def stream(
        self,
        text: str,
        *,
        public_id: str | None = None,
        channel: Channel = Channel.WEB,
        external_ref: str | None = None,
    ) -> Iterator[str | ExchangeResult]:
        """Like `ask`, yielding the reply's text pieces as they come, then the stored result.

        The pieces are a preview: the result's `reply.text` is what was stored and counts.
        """
        history, conversation_pk, conversation_public = self._record_question(
            text, public_id, channel, external_ref
        )
        final: Reply | None = None
        for item in self.assistant.stream(history, text):
            if isinstance(item, Reply):
                final = item
            else:
                yield item
        assert final is not None, "the assistant's stream ended without a Reply"
        yield self._record_reply(final, conversation_pk, conversation_public)

    def _record_question(
        self, text: str, public_id: str | None, channel: Channel, external_ref: str | None
    ) -> tuple[list[Turn], int, str]:
        with self.sessions.begin() as session:
            if public_id:
                conversation = service.get(session=session, public_id=public_id)
            elif external_ref:
                conversation = service.find_or_start(
                    session=session, channel=channel, external_ref=external_ref
                )
            else:
                conversation = service.start(session=session, channel=channel)
            bind_conversation(conversation.public_id)  # the log lines that follow carry it
            history = service.history(session=session, conversation=conversation)
            service.record_user_message(session=session, conversation=conversation, text=text)
            return history, conversation.id, conversation.public_id

    def _record_reply(
        self, reply: Reply, conversation_pk: int, conversation_public: str
    ) -> ExchangeResult:
        with self.sessions.begin() as session:
            conversation = service.get(session=session, public_id=conversation_public)
            assert conversation.id == conversation_pk
            message = service.record_reply(session=session, conversation=conversation, reply=reply)
            message_id = message.id
        return ExchangeResult(reply, conversation_public, message_id)
