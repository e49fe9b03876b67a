"""The volunteer's chat use cases. Every one is scoped to the browser's own reference (a hash of
its cookie), so one browser can never read or act on another's conversation or appointment."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import BaseModel
from sqlalchemy.orm import Session

from sportello.app import Services
from sportello.channels.web.operations import views
from sportello.conversations import reading
from sportello.conversations import service as conversations
from sportello.conversations.exchange import ExchangeResult
from sportello.conversations.models import Channel, Conversation, Role
from sportello.desk import handover, people, queue
from sportello.desk.handover import Step, StepResult
from sportello.desk.ics import booking_ics
from sportello.errors import ErrorCode, SportelloError

CHANNEL = Channel.WEB
MAX_TEXT = 10_000


class ChoiceView(BaseModel):
    key: str
    label: str
    kind: str  # slot | cancel | primary | other


class HandoverView(BaseModel):
    step: str
    text: str
    choices: list[ChoiceView]
    ticket_code: str | None
    booking_id: int | None = None  # set when this step booked or moved an appointment


class AppointmentItem(BaseModel):
    booking_id: int
    ticket_code: str
    details: str
    can_cancel: bool
    can_move: bool


class ChatState(BaseModel):
    conversation_id: str | None
    messages: list[views.MessageView]
    handover: HandoverView | None
    appointments: list[AppointmentItem]
    last_id: int
    relaying_to: str | None = None  # ticket code while messages go to the expert, not the bot


class AppointmentPage(BaseModel):
    appointment: views.AppointmentView
    details: str
    can_cancel: bool
    can_move: bool


def _kind(key: str) -> str:
    if key.startswith("slot:"):
        return "slot"
    if key == handover.CANCEL:
        return "cancel"
    if key in ("topic:yes", "confirm:yes", "mode:written", "mode:appointment"):
        return "primary"
    return "other"


NUMBERED = re.compile(r"^(\d+)\. (.+)$")


def handover_view(result: StepResult, booking_id: int | None = None) -> HandoverView:
    """The step for the page. The slot list the text spells out (for chats without buttons)
    moves into the slot buttons, so each button names day, time, desk and expert."""
    choices = [ChoiceView(key=c.key, label=c.label, kind=_kind(c.key)) for c in result.choices]
    text = result.text
    if any(c.kind == "slot" for c in choices):
        listed: dict[str, str] = {}
        kept = []
        for line in text.splitlines():
            match = NUMBERED.match(line.strip())
            if match:
                listed[match.group(1)] = match.group(2)
            else:
                kept.append(line)
        for choice in choices:
            number = choice.label.split(" · ", 1)[0]
            if choice.kind == "slot" and number in listed:
                choice.label = listed[number]
        if listed:
            text = "\n".join(kept)
    return HandoverView(
        step=str(result.step),
        text=text,
        choices=choices,
        ticket_code=result.ticket_code,
        booking_id=booking_id,
    )


def clean_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise SportelloError(ErrorCode.INVALID_INPUT, "Scrivi la tua domanda.")
    if len(text) > MAX_TEXT:
        raise SportelloError(ErrorCode.INVALID_INPUT, "Il messaggio è troppo lungo.")
    return text


def _conversation(session: Session, ref: str, *, create: bool) -> Conversation | None:
    if create:
        return conversations.find_or_start(session=session, channel=CHANNEL, external_ref=ref)
    return reading.own_conversation(session=session, channel=CHANNEL, external_ref=ref)


def _message_views(
    session: Session, conversation_id: int, after: int = 0
) -> list[views.MessageView]:
    rows = reading.transcript(session=session, conversation_id=conversation_id, after_id=after)
    votes = reading.feedback_values(session=session, message_ids=[m.id for m in rows])
    return [views.message(m, votes.get(m.id)) for m in rows]


def state(svc: Services, ref: str) -> ChatState:
    """What the chat page shows: the thread, the hand-over step if any, upcoming appointments."""
    with svc.sessions.begin() as session:
        conversation = _conversation(session, ref, create=False)
        appointments = [
            AppointmentItem(**a.__dict__)
            for a in people.appointments(
                CHANNEL, ref, session=session, settings=svc.settings, now=svc.clock.now()
            )
        ]
        if conversation is None:
            return ChatState(
                conversation_id=None,
                messages=[],
                handover=None,
                appointments=appointments,
                last_id=0,
            )
        messages = _message_views(session, conversation.id)
        step = handover.current(conversation, session=session, settings=svc.settings)
        done = step is not None and step.step == Step.DONE
        return ChatState(
            conversation_id=conversation.public_id,
            messages=messages,
            handover=handover_view(step) if step is not None and not done else None,
            appointments=appointments,
            last_id=messages[-1].id if messages else 0,
            relaying_to=step.ticket_code if step is not None and done else None,
        )


def messages_after(svc: Services, ref: str, after: int) -> list[views.MessageView]:
    with svc.sessions.begin() as session:
        conversation = _conversation(session, ref, create=False)
        return [] if conversation is None else _message_views(session, conversation.id, after)


def _record_done(session: Session, conversation: Conversation, result: StepResult) -> None:
    """A finished hand-over stays in the thread (the steps before it are only prompts)."""
    if result.step == Step.DONE and result.text and not result.relayed:
        conversations.record_message(
            session=session, conversation=conversation, role=Role.SYSTEM, text=result.text
        )


def handle_text(svc: Services, ref: str, text: str) -> HandoverView | None:
    """Text typed during a hand-over belongs to it (case description, message to the expert);
    None means there is no hand-over going on and the assistant should answer."""
    with svc.sessions.begin() as session:
        conversation = _conversation(session, ref, create=False)
        if conversation is None:
            return None
        result = handover.handle_text(
            conversation, text, session=session, settings=svc.settings, now=svc.clock.now()
        )
        if result is None:
            return None
        _record_done(session, conversation, result)
        return handover_view(result)


def ask(svc: Services, ref: str, text: str) -> ExchangeResult:
    return svc.exchange.ask(text, channel=CHANNEL, external_ref=ref)


def stream(svc: Services, ref: str, text: str) -> Iterator[str | ExchangeResult]:
    return svc.exchange.stream(text, channel=CHANNEL, external_ref=ref)


def stored_message(svc: Services, ref: str, message_id: int) -> views.MessageView:
    with svc.sessions.begin() as session:
        conversation = _conversation(session, ref, create=False)
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


def feedback(svc: Services, ref: str, message_id: int, value: int) -> None:
    with svc.sessions.begin() as session:
        conversation = _conversation(session, ref, create=False)
        if conversation is None:
            raise SportelloError(ErrorCode.NOT_FOUND, "messaggio non trovato")
        conversations.give_feedback(
            session=session, conversation=conversation, message_id=message_id, value=value
        )


def _booking_of(session: Session, conversation: Conversation, result: StepResult) -> int | None:
    if result.step != Step.DONE or not result.ticket_code:
        return None
    for ticket in queue.tickets_of_conversation(conversation.id, session=session):
        if ticket.code == result.ticket_code:
            booking = views.active_booking(ticket)
            return booking.id if booking is not None else None
    return None


def handover_start(
    svc: Services, ref: str, *, topic: str | None, appointment: bool
) -> HandoverView:
    with svc.sessions.begin() as session:
        conversation = _conversation(session, ref, create=True)
        assert conversation is not None
        result = handover.start(
            conversation,
            session=session,
            settings=svc.settings,
            topic=topic or None,
            appointment=appointment,
            now=svc.clock.now(),
        )
        return handover_view(result)


def handover_choose(svc: Services, ref: str, key: str) -> HandoverView:
    with svc.sessions.begin() as session:
        conversation = _conversation(session, ref, create=False)
        if conversation is None:
            raise SportelloError(ErrorCode.NOT_FOUND, "Nessuna conversazione in corso.")
        result = handover.choose(
            conversation, key, session=session, settings=svc.settings, now=svc.clock.now()
        )
        _record_done(session, conversation, result)
        return handover_view(result, _booking_of(session, conversation, result))


def handover_leave(svc: Services, ref: str) -> HandoverView:
    with svc.sessions.begin() as session:
        conversation = _conversation(session, ref, create=False)
        if conversation is None:
            return HandoverView(
                step=str(Step.IDLE),
                text=handover.text("nothing_to_leave"),
                choices=[],
                ticket_code=None,
            )
        return handover_view(handover.leave(conversation, session=session))


def appointment(svc: Services, ref: str, booking_id: int) -> AppointmentPage:
    """One of this browser's appointments (NOT_FOUND for anyone else's)."""
    with svc.sessions.begin() as session:
        handover.owned_booking(CHANNEL, ref, booking_id, session=session)
        booking = queue.booking_detail(booking_id, session=session)
        mine = {
            a.booking_id: a
            for a in people.appointments(
                CHANNEL, ref, session=session, settings=svc.settings, now=svc.clock.now()
            )
        }
        item = mine.get(booking_id)
        return AppointmentPage(
            appointment=views.appointment(booking),
            details=item.details if item else "",
            can_cancel=bool(item and item.can_cancel),
            can_move=bool(item and item.can_move),
        )


def ics(svc: Services, ref: str, booking_id: int) -> tuple[str, str]:
    with svc.sessions.begin() as session:
        handover.owned_booking(CHANNEL, ref, booking_id, session=session)
        booking = queue.booking_detail(booking_id, session=session)
        return f"{booking.ticket.code}.ics", booking_ics(booking, now=svc.clock.now())


def cancel_appointment(svc: Services, ref: str, booking_id: int) -> str:
    with svc.sessions.begin() as session:
        ticket = people.cancel_appointment(
            CHANNEL, ref, booking_id, session=session, settings=svc.settings, now=svc.clock.now()
        )
        return ticket.code


def reschedule(svc: Services, ref: str, booking_id: int) -> HandoverView:
    with svc.sessions.begin() as session:
        conversation = _conversation(session, ref, create=True)
        assert conversation is not None
        result = handover.start_reschedule(
            conversation, booking_id, session=session, settings=svc.settings, now=svc.clock.now()
        )
        return handover_view(result)


def erase(svc: Services, ref: str) -> people.Erasure:
    with svc.sessions.begin() as session:
        return people.erase_person(
            CHANNEL, ref, session=session, settings=svc.settings, now=svc.clock.now()
        )
