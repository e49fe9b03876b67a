"""The volunteer's use cases, the same for every chat channel: ask, hand over, book, cancel, move,
erase, vote. Each opens its own transaction with the Services' clock and returns typed results.

Free text is routed in one place (`receive_text`): an expert's reply to a ticket, a step of the
hand-over in progress, a message for the expert's ticket, else a question for the assistant.
Every use case is scoped to the `Volunteer` (channel + reference), so nobody reads or acts on
another person's conversation or appointment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sportello.answering.prompts import Prompts
from sportello.answering.schemas import Action
from sportello.conversations import reading
from sportello.conversations import service as conversations
from sportello.conversations.exchange import ExchangeResult
from sportello.conversations.models import Conversation, Role
from sportello.desk import handover, scheduling, tickets
from sportello.desk.handover import Appointment, HandoverAction, Step, StepResult
from sportello.errors import ErrorCode, SportelloError
from sportello.privacy.erasure import Erasure, erase_person
from sportello.services import Services
from sportello.usecases import console, views
from sportello.usecases.results import (
    AssistantReply,
    Cancelled,
    ExpertReplied,
    HandoverStep,
    Volunteer,
    assistant_reply,
    handover_step,
)

__all__ = ["Appointment", "Erasure", "Volunteer"]

Result = AssistantReply | HandoverStep | ExpertReplied


@dataclass(frozen=True)
class ChatState:
    """What a chat shows on opening: the thread, the step in progress, upcoming appointments."""

    conversation_id: str | None
    messages: list[views.MessageView]
    handover: HandoverStep | None
    appointments: list[Appointment]
    relaying_to: str | None  # ticket code while messages go to the expert, not the assistant


@dataclass(frozen=True)
class AppointmentDetail:
    appointment: views.AppointmentView
    details: str
    can_cancel: bool
    can_move: bool


# --- free text ---------------------------------------------------------------------------------


def clean_text(svc: Services, text: str) -> str:
    """The text to work on; one limit for every channel (`Settings.max_message_chars`), checked
    before anything is stored."""
    text = text.strip()
    if not text:
        raise SportelloError(ErrorCode.INVALID_INPUT, "Scrivi la tua domanda.")
    limit = svc.settings.max_message_chars
    if len(text) > limit:
        detail = Prompts().text("refuse_too_long", "it", length=len(text), limit=limit)
        raise SportelloError(ErrorCode.INVALID_INPUT, detail)
    return text


def ticket_code_in(text: str | None, prefix: str) -> str | None:
    """The first ticket code (SPT-2026-0042) in a message, if any."""
    if not text:
        return None
    found = re.search(rf"\b{re.escape(prefix)}-\d{{4}}-\d{{4,}}\b", text)
    return found.group(0) if found else None


def _route(
    svc: Services, who: Volunteer, text: str, replied_to: str | None
) -> HandoverStep | ExpertReplied | None:
    """Text that is not for the assistant: an expert answering a ticket's notification, else a
    step of the hand-over or a message for the expert's ticket; None: the assistant answers."""
    code = ticket_code_in(replied_to, svc.settings.desk_ticket_prefix)
    if code:
        replied = console.reply_from_chat(svc, who.ref, code, text)
        if replied is not None:
            return replied
    with svc.sessions.begin() as session:
        conversation = _own(session, who)
        if conversation is None:
            return None
        result = handover.handle_text(
            conversation, text, session=session, settings=svc.settings, now=svc.clock.now()
        )
        if result is None:
            return None
        return _finish(session, conversation, result)


def _after_reply(svc: Services, who: Volunteer, result: ExchangeResult) -> list[Result]:
    """The stored reply; when the assistant escalates, the hand-over starts at once."""
    out: list[Result] = [assistant_reply(result.reply, result.message_id, result.conversation_id)]
    if result.reply.action == Action.ESCALATE:
        out.append(start_handover(svc, who, topic=result.reply.topic))
    return out


def receive_text(
    svc: Services,
    who: Volunteer,
    text: str,
    *,
    replied_to: str | None = None,
    thinking: Callable[[], object] | None = None,
) -> list[Result]:
    """Free text from the person: the results to show, in order. `thinking` is called when
    the assistant starts working (a channel may show "typing…" then)."""
    text = clean_text(svc, text)
    routed = _route(svc, who, text, replied_to)
    if routed is not None:
        return [routed]
    if thinking is not None:
        thinking()
    result = svc.exchange.ask(text, channel=who.channel, external_ref=who.ref)
    return _after_reply(svc, who, result)


def receive_text_stream(svc: Services, who: Volunteer, text: str) -> Iterator[str | Result]:
    """Like `receive_text`, yielding the reply's text pieces (a preview) before the results."""
    text = clean_text(svc, text)
    routed = _route(svc, who, text, None)
    if routed is not None:
        yield routed
        return
    for item in svc.exchange.stream(text, channel=who.channel, external_ref=who.ref):
        if isinstance(item, ExchangeResult):
            yield from _after_reply(svc, who, item)
        else:
            yield item


# --- the hand-over -----------------------------------------------------------------------------


def _own(session: Session, who: Volunteer) -> Conversation | None:
    return reading.own_conversation(session=session, channel=who.channel, external_ref=who.ref)


def _current(session: Session, who: Volunteer) -> Conversation:
    return conversations.find_or_start(session=session, channel=who.channel, external_ref=who.ref)


def _finish(session: Session, conversation: Conversation, result: StepResult) -> HandoverStep:
    """The typed step. A finished hand-over stays in the thread on every channel (the steps
    before it are only prompts), with the appointment it booked, if any."""
    booking_id = None
    if result.step == Step.DONE and result.text and not result.relayed:
        conversations.record_message(
            session=session, conversation=conversation, role=Role.SYSTEM, text=result.text
        )
        booking_id = _booking_of(session, conversation, result.ticket_code)
    return handover_step(result, booking_id)


def _booking_of(session: Session, conversation: Conversation, code: str | None) -> int | None:
    for ticket in tickets.tickets_of_conversation(conversation.id, session=session):
        if code and ticket.code == code:
            booking = views.active_booking(ticket)
            return booking.id if booking is not None else None
    return None


def start_handover(
    svc: Services, who: Volunteer, *, topic: str | None = None, appointment: bool = False
) -> HandoverStep:
    """ "Parla con un esperto" / "Prenota un appuntamento" (and the assistant's escalation)."""
    with svc.sessions.begin() as session:
        result = handover.start(
            _current(session, who),
            session=session,
            settings=svc.settings,
            topic=topic or None,
            appointment=appointment,
            now=svc.clock.now(),
        )
        return handover_step(result)


def press(svc: Services, who: Volunteer, action: HandoverAction | None) -> HandoverStep:
    """A button of the hand-over (topic, mode, slot, confirm, cancel…), parsed by the channel
    (`HandoverAction.parse`); None, a key no button has, shows the current step again."""
    with svc.sessions.begin() as session:
        conversation = _own(session, who)
        if conversation is None:
            raise SportelloError(ErrorCode.NOT_FOUND, "Nessuna conversazione in corso.")
        result = handover.choose(
            conversation, action, session=session, settings=svc.settings, now=svc.clock.now()
        )
        return _finish(session, conversation, result)


def leave(svc: Services, who: Volunteer) -> HandoverStep:
    """Leave the hand-over (or the expert's thread): the assistant answers again."""
    with svc.sessions.begin() as session:
        conversation = _own(session, who)
        if conversation is None:
            return HandoverStep(Step.IDLE, handover.text("nothing_to_leave"))
        return handover_step(handover.leave(conversation, session=session))


# --- appointments ------------------------------------------------------------------------------


def appointments(svc: Services, who: Volunteer) -> list[Appointment]:
    with svc.sessions.begin() as session:
        return handover.appointments(
            who.channel, who.ref, session=session, settings=svc.settings, now=svc.clock.now()
        )


def appointment(svc: Services, who: Volunteer, booking_id: int) -> AppointmentDetail:
    """One of this person's appointments (NOT_FOUND for anyone else's)."""
    with svc.sessions.begin() as session:
        handover.owned_booking(who.channel, who.ref, booking_id, session=session)
        booking = tickets.booking_detail(booking_id, session=session)
        mine = {
            a.booking_id: a
            for a in handover.appointments(
                who.channel, who.ref, session=session, settings=svc.settings, now=svc.clock.now()
            )
        }
        item = mine.get(booking_id)
        return AppointmentDetail(
            appointment=views.appointment(booking),
            details=item.details if item else "",
            can_cancel=bool(item and item.can_cancel),
            can_move=bool(item and item.can_move),
        )


def ics(svc: Services, who: Volunteer, booking_id: int) -> tuple[str, str]:
    """(file name, calendar) of one of this person's appointments."""
    with svc.sessions.begin() as session:
        handover.owned_booking(who.channel, who.ref, booking_id, session=session)
        booking = tickets.booking_detail(booking_id, session=session)
        return f"{booking.ticket.code}.ics", scheduling.booking_ics(booking, now=svc.clock.now())


def cancel_appointment(svc: Services, who: Volunteer, booking_id: int) -> Cancelled:
    with svc.sessions.begin() as session:
        ticket = handover.cancel_appointment(
            who.channel,
            who.ref,
            booking_id,
            session=session,
            settings=svc.settings,
            now=svc.clock.now(),
        )
        return Cancelled(ticket.code)


def move_appointment(svc: Services, who: Volunteer, booking_id: int) -> HandoverStep:
    """Offer other times for the appointment (same expert); confirming moves it."""
    with svc.sessions.begin() as session:
        result = handover.start_reschedule(
            _current(session, who),
            booking_id,
            session=session,
            settings=svc.settings,
            now=svc.clock.now(),
        )
        return handover_step(result)


# --- the person's data -------------------------------------------------------------------------


def erase(svc: Services, who: Volunteer) -> Erasure:
    with svc.sessions.begin() as session:
        return erase_person(
            who.channel, who.ref, session=session, settings=svc.settings, now=svc.clock.now()
        )


def feedback(svc: Services, who: Volunteer, message_id: int, value: int) -> None:
    """👍 / 👎 on one of this person's replies."""
    with svc.sessions.begin() as session:
        conversation = _own(session, who)
        if conversation is None:
            raise SportelloError(ErrorCode.NOT_FOUND, "messaggio non trovato")
        conversations.give_feedback(
            session=session, conversation=conversation, message_id=message_id, value=value
        )


def rate(svc: Services, who: Volunteer, code: str, score: int) -> None:
    """The satisfaction score (1–5) of one of this person's closed requests."""
    with svc.sessions.begin() as session:
        handover.rate_ticket(who.channel, who.ref, code, score, session=session)


# --- reading the chat --------------------------------------------------------------------------


def _message_views(
    session: Session, conversation_id: int, after: int = 0
) -> list[views.MessageView]:
    rows = reading.transcript(session=session, conversation_id=conversation_id, after_id=after)
    votes = reading.feedback_values(session=session, message_ids=[m.id for m in rows])
    return [views.message(m, votes.get(m.id)) for m in rows]


def state(svc: Services, who: Volunteer) -> ChatState:
    """The thread, the hand-over step if one is going on, upcoming appointments."""
    with svc.sessions.begin() as session:
        found = handover.appointments(
            who.channel, who.ref, session=session, settings=svc.settings, now=svc.clock.now()
        )
        conversation = _own(session, who)
        if conversation is None:
            return ChatState(None, [], None, found, None)
        step = handover.current(conversation, session=session, settings=svc.settings)
        done = step is not None and step.step == Step.DONE
        return ChatState(
            conversation_id=conversation.public_id,
            messages=_message_views(session, conversation.id),
            handover=handover_step(step) if step is not None and not done else None,
            appointments=found,
            relaying_to=step.ticket_code if step is not None and done else None,
        )


def messages_after(svc: Services, who: Volunteer, after: int) -> list[views.MessageView]:
    with svc.sessions.begin() as session:
        conversation = _own(session, who)
        return [] if conversation is None else _message_views(session, conversation.id, after)


def stored_message(svc: Services, who: Volunteer, message_id: int) -> views.MessageView:
    with svc.sessions.begin() as session:
        conversation = _own(session, who)
        found = (
            [
                m
                for m in _message_views(session, conversation.id, message_id - 1)
                if m.id == message_id
            ]
            if conversation is not None
            else []
        )
    if not found:
        raise SportelloError(ErrorCode.NOT_FOUND, "Messaggio non trovato.")
    return found[0]
