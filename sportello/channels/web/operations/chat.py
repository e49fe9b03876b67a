"""The volunteer's chat for the web: the browser's identity and the typed results as page/JSON
models. The use cases themselves live in `sportello.usecases.volunteer` (shared with Telegram)."""

from __future__ import annotations

from pydantic import BaseModel

from sportello.conversations.models import Channel
from sportello.desk import handover
from sportello.desk.handover import Choice
from sportello.services import Services
from sportello.usecases import views
from sportello.usecases import volunteer as usecase
from sportello.usecases.results import Booked, HandoverStep, Volunteer


def volunteer(ref: str) -> Volunteer:
    """The person behind a browser: `ref` is a hash of its chat cookie."""
    return Volunteer(Channel.WEB, ref)


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


PRIMARY = frozenset({"topic:yes", "confirm:yes", "mode:written", "mode:appointment"})


def _kind(choice: Choice) -> str:
    if choice.slot is not None:
        return "slot"
    if choice.key == handover.CANCEL:
        return "cancel"
    return "primary" if choice.key in PRIMARY else "other"


def handover_view(result: HandoverStep) -> HandoverView:
    """The step for the page: each offered slot is a button naming day, time, desk and expert
    (the slot's own label, from the data), the hint closes the text."""
    choices = [
        ChoiceView(key=c.key, label=c.slot.label if c.slot else c.label, kind=_kind(c))
        for c in result.choices
    ]
    text = f"{result.text}\n{result.hint}" if result.hint else result.text
    return HandoverView(
        step=str(result.step),
        text=text,
        choices=choices,
        ticket_code=result.ticket_code,
        booking_id=result.booking_id if isinstance(result, Booked) else None,
    )


def state(svc: Services, ref: str) -> ChatState:
    """What the chat page shows: the thread, the hand-over step if any, upcoming appointments."""
    found = usecase.state(svc, volunteer(ref))
    return ChatState(
        conversation_id=found.conversation_id,
        messages=found.messages,
        handover=handover_view(found.handover) if found.handover is not None else None,
        appointments=[AppointmentItem(**a.__dict__) for a in found.appointments],
        last_id=found.messages[-1].id if found.messages else 0,
        relaying_to=found.relaying_to,
    )


def appointment(svc: Services, ref: str, booking_id: int) -> AppointmentPage:
    found = usecase.appointment(svc, volunteer(ref), booking_id)
    return AppointmentPage(**found.__dict__)
