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

from sportello.answering.schemas import Action, Reply
from sportello.conversations import exchange, reading
from sportello.conversations import service as conversations
from sportello.conversations.exchange import Asked
from sportello.conversations.models import Conversation, Role
from sportello.desk import handover, notifications, scheduling, tickets
from sportello.desk.handover import ActionKind, Appointment, HandoverAction, Step, StepResult
from sportello.errors import ErrorCode, SportelloError
from sportello.privacy.erasure import Erasure, erase_person
from sportello.services import Services
from sportello.usecases import console, limits, views
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
    to_rate: tuple[str, ...] = ()  # closed requests whose satisfaction question is open


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
        raise SportelloError(ErrorCode.INVALID_INPUT, "question_empty")
    limit = svc.settings.max_message_chars
    if len(text) > limit:
        raise SportelloError(
            ErrorCode.INVALID_INPUT, "message_too_long", length=len(text), limit=limit
        )
    return text


def ticket_code_in(text: str | None, prefix: str) -> str | None:
    """The first ticket code (SPT-2026-0042) in a message, if any."""
    if not text:
        return None
    found = re.search(rf"\b{re.escape(prefix)}-\d{{4}}-\d{{4,}}\b", text)
    return found.group(0) if found else None


def _expert_reply(
    svc: Services, who: Volunteer, text: str, replied_to: str | None
) -> ExpertReplied | None:
    """An expert answering a ticket by replying to its notification, else None."""
    code = ticket_code_in(replied_to, svc.settings.desk_ticket_prefix)
    return console.reply_from_chat(svc, who.ref, code, text) if code else None


def _take(
    svc: Services, who: Volunteer, text: str, admission: limits.Admission | None
) -> HandoverStep | Asked:
    """Transaction 1: with an `admission`, the message counted against the rate limit first
    (refused: the count is committed, nothing else is written, RateLimited is raised); the
    thread and its last turns (one query); a step of the hand-over in progress or a message
    for the expert's ticket is handled here, else the question is stored, committed before
    the assistant starts (a crash then loses nothing)."""
    with svc.sessions.begin() as session:
        refusal = limits.count(svc, who, admission, session=session) if admission else None
        if refusal is None:
            thread = exchange.open_thread(
                session=session, channel=who.channel, external_ref=who.ref
            )
            now = svc.clock.now()
            result = handover.handle_text(
                thread.conversation, text, session=session, settings=svc.settings, now=now
            )
            if result is not None:
                if result.relayed:  # a message for the expert: tell them (by e-mail, if asked)
                    tickets.volunteer_wrote(thread.conversation.id, text, session=session, now=now)
                return _finish(session, thread.conversation, result)
            return exchange.record_question(session=session, thread=thread, text=text)
    raise limits.refused(who, refusal)


def _store(svc: Services, asked: Asked, reply: Reply) -> list[Result]:
    """Transaction 2: the reply with its citations; when the assistant escalates, the hand-over
    starts in the same unit of work."""
    with svc.sessions.begin() as session:
        message = exchange.record_reply(session=session, asked=asked, reply=reply)
        out: list[Result] = [assistant_reply(reply, views.message(message), asked.public_id)]
        if reply.action == Action.ESCALATE:
            step = handover.start(
                conversations.get(session=session, public_id=asked.public_id),
                session=session,
                settings=svc.settings,
                topic=reply.topic or None,
                now=svc.clock.now(),
            )
            out.append(handover_step(step))
        return out


def receive_text(
    svc: Services,
    who: Volunteer,
    text: str,
    *,
    replied_to: str | None = None,
    thinking: Callable[[], object] | None = None,
    admission: limits.Admission | None = None,
) -> list[Result]:
    """Free text from the person: the results to show, in order. `thinking` is called when
    the assistant starts working (a channel may show "typing…" then). The reply is computed
    between two short transactions, holding none. With `admission` the message is counted
    against the rate limit in the first of them (a channel that counted it already omits it)."""
    text = clean_text(svc, text)
    replied = _expert_reply(svc, who, text, replied_to)
    if replied is not None:
        return [replied]
    taken = _take(svc, who, text, admission)
    if isinstance(taken, HandoverStep):
        return [taken]
    if thinking is not None:
        thinking()
    return _store(svc, taken, svc.assistant.reply(taken.history, text))


def receive_text_stream(
    svc: Services, who: Volunteer, text: str, *, admission: limits.Admission | None = None
) -> Iterator[str | Result]:
    """Like `receive_text`, yielding the reply's text pieces (a preview) before the results;
    the stored reply's text is what counts. The text is checked, counted and stored here,
    before the first piece: a refusal (RateLimited, a bad text) is raised by this call, so a
    channel can answer it before its stream starts."""
    text = clean_text(svc, text)
    return _streamed(svc, text, _take(svc, who, text, admission))


def _streamed(svc: Services, text: str, taken: HandoverStep | Asked) -> Iterator[str | Result]:
    if isinstance(taken, HandoverStep):
        yield taken
        return
    final: Reply | None = None
    for item in svc.assistant.stream(taken.history, text):
        if isinstance(item, Reply):
            final = item
        else:
            yield item
    assert final is not None, "the assistant's stream ended without a Reply"
    yield from _store(svc, taken, final)


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


# The buttons that open the ticket or book: the ones the optional address travels with (going
# back or leaving ignores it, so a half-typed address never blocks them).
EMAIL_ACTIONS = frozenset({ActionKind.MODE, ActionKind.CONFIRM})


def contact_email(svc: Services, email: str | None) -> str | None:
    """The optional address a web volunteer leaves "per ricevere la risposta e i promemoria",
    checked before anything changes (a typo is refused with the reason; nothing is lost)."""
    if email is None or not email.strip():
        return None
    if not svc.settings.email_enabled:
        raise SportelloError(ErrorCode.INVALID_INPUT, "email_disabled")
    return notifications.normalize_email(email)


def press(
    svc: Services, who: Volunteer, action: HandoverAction | None, *, email: str | None = None
) -> HandoverStep:
    """A button of the hand-over (topic, mode, slot, confirm, cancel…), parsed by the channel
    (`HandoverAction.parse`); None, a key no button has, shows the current step again. The
    web sends the optional e-mail address with the buttons that open the ticket or book."""
    takes_email = action is not None and action.kind in EMAIL_ACTIONS
    address = contact_email(svc, email) if takes_email else None
    with svc.sessions.begin() as session:
        conversation = _own(session, who)
        if conversation is None:
            raise SportelloError(ErrorCode.NOT_FOUND, "no_conversation")
        if address is not None:
            handover.remember_email(conversation, address, session=session)
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
            raise SportelloError(ErrorCode.NOT_FOUND, "message_not_found_lower")
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
            to_rate=tuple(handover.unrated(who.channel, who.ref, session=session)),
        )


def messages_after(svc: Services, who: Volunteer, after: int) -> list[views.MessageView]:
    with svc.sessions.begin() as session:
        conversation = _own(session, who)
        return [] if conversation is None else _message_views(session, conversation.id, after)
