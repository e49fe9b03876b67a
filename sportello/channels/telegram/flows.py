"""The bot's units of work: each opens one transaction and calls the services (blocking code).

Handlers run these through `asyncio.to_thread`. A chat is identified by `chat_ref`, the chat
id as text: the conversation's `external_ref` and the tickets' `volunteer_ref`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from sportello.answering.schemas import Action
from sportello.channels.telegram import queries
from sportello.conversations import service as conversations
from sportello.conversations.exchange import ExchangeResult
from sportello.conversations.models import Channel, Conversation
from sportello.desk import handover, people
from sportello.desk.handover import StepResult
from sportello.desk.people import Appointment, Erasure

if TYPE_CHECKING:
    from sportello.app import Services

CHANNEL = Channel.TELEGRAM
KEEP_UPDATE_IDS = timedelta(days=2)


@dataclass(frozen=True)
class Answered:
    """The assistant replied; `handover` is the first step when it escalated."""

    exchange: ExchangeResult
    handover: StepResult | None = None


@dataclass(frozen=True)
class ExpertReplied:
    code: str


def _conversation(session: Session, chat_ref: str) -> Conversation:
    return conversations.find_or_start(session=session, channel=CHANNEL, external_ref=chat_ref)


def ticket_code_in(text: str | None, prefix: str) -> str | None:
    """The first ticket code (SPT-2026-0042) in a message, if any."""
    if not text:
        return None
    found = re.search(rf"\b{re.escape(prefix)}-\d{{4}}-\d{{4,}}\b", text)
    return found.group(0) if found else None


def claim_update(services: Services, update_id: int) -> bool:
    """Record an update as handled; False if Telegram delivered it before."""
    with services.sessions.begin() as session:
        return queries.claim_update(session, update_id, services.clock.now())


def prune(services: Services) -> None:
    with services.sessions.begin() as session:
        queries.prune(session, services.clock.now() - KEEP_UPDATE_IDS)


def route_text(
    services: Services, chat_ref: str, text: str, replied_to: str | None = None
) -> StepResult | ExpertReplied | None:
    """Free text that is not for the assistant: an expert's reply to a ticket, a hand-over
    step, a message for the expert's ticket. None: let the assistant answer (`ask`)."""
    settings = services.settings
    code = ticket_code_in(replied_to, settings.desk_ticket_prefix)
    with services.sessions.begin() as session:
        if code and people.expert_for_chat(chat_ref, session=session) is not None:
            people.expert_reply(chat_ref, code, text, session=session, now=services.clock.now())
            return ExpertReplied(code)
        return handover.handle_text(
            _conversation(session, chat_ref),
            text,
            session=session,
            settings=settings,
            now=services.clock.now(),
        )


def ask(services: Services, chat_ref: str, text: str) -> Answered:
    """A question for the assistant (stored with its reply); escalation starts the hand-over."""
    result = services.exchange.ask(text, channel=CHANNEL, external_ref=chat_ref)
    if result.reply.action != Action.ESCALATE:
        return Answered(result)
    with services.sessions.begin() as session:
        first = handover.start(
            _conversation(session, chat_ref),
            session=session,
            settings=services.settings,
            topic=result.reply.topic,
            now=services.clock.now(),
        )
    return Answered(result, first)


def start_handover(services: Services, chat_ref: str, *, appointment: bool) -> StepResult:
    """/esperto, /prenota and the "Parla con un esperto" button."""
    with services.sessions.begin() as session:
        return handover.start(
            _conversation(session, chat_ref),
            session=session,
            settings=services.settings,
            appointment=appointment,
            now=services.clock.now(),
        )


def choose(services: Services, chat_ref: str, key: str) -> StepResult:
    with services.sessions.begin() as session:
        return handover.choose(
            _conversation(session, chat_ref),
            key,
            session=session,
            settings=services.settings,
            now=services.clock.now(),
        )


def leave(services: Services, chat_ref: str) -> StepResult:
    with services.sessions.begin() as session:
        return handover.leave(_conversation(session, chat_ref), session=session)


def feedback(services: Services, chat_ref: str, message_id: int, value: int) -> None:
    with services.sessions.begin() as session:
        conversations.give_feedback(
            session=session,
            conversation=_conversation(session, chat_ref),
            message_id=message_id,
            value=value,
        )


def appointments(services: Services, chat_ref: str) -> list[Appointment]:
    with services.sessions.begin() as session:
        return people.appointments(
            CHANNEL, chat_ref, session=session, settings=services.settings, now=services.clock.now()
        )


def describe_appointment(services: Services, chat_ref: str, booking_id: int) -> str:
    with services.sessions.begin() as session:
        found = [
            a.details
            for a in people.appointments(
                CHANNEL,
                chat_ref,
                session=session,
                settings=services.settings,
                now=services.clock.now(),
            )
            if a.booking_id == booking_id
        ]
    return found[0] if found else ""


def cancel_appointment(services: Services, chat_ref: str, booking_id: int) -> str:
    """Cancel the booking; returns its ticket code."""
    with services.sessions.begin() as session:
        ticket = people.cancel_appointment(
            CHANNEL,
            chat_ref,
            booking_id,
            session=session,
            settings=services.settings,
            now=services.clock.now(),
        )
        return ticket.code


def move_appointment(services: Services, chat_ref: str, booking_id: int) -> StepResult:
    with services.sessions.begin() as session:
        return handover.start_reschedule(
            _conversation(session, chat_ref),
            booking_id,
            session=session,
            settings=services.settings,
            now=services.clock.now(),
        )


def erase(services: Services, chat_ref: str) -> Erasure:
    with services.sessions.begin() as session:
        return people.erase_person(
            CHANNEL, chat_ref, session=session, settings=services.settings, now=services.clock.now()
        )


def rate(services: Services, chat_ref: str, code: str, score: int) -> None:
    with services.sessions.begin() as session:
        people.rate_ticket(CHANNEL, chat_ref, code, score, session=session)


def claim(services: Services, chat_ref: str, code: str) -> str:
    with services.sessions.begin() as session:
        return people.expert_claim(chat_ref, code, session=session, now=services.clock.now()).code
