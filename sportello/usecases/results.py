"""What the use cases return: typed results as data, which each channel renders its own way.

Nothing here is pre-rendered text for another layer to parse: citations, offered slots and the
slot to confirm are data; the sentences a step carries come from prompts/ and are plain text
(each channel escapes them).
"""

from __future__ import annotations

from dataclasses import dataclass

from sportello.answering.schemas import Action, Citation, Reply
from sportello.conversations.models import Channel
from sportello.desk.handover import Choice, HandoverAction, Step, StepResult
from sportello.desk.schemas import SlotOffer as Slot

__all__ = [
    "Answer",
    "AssistantReply",
    "Booked",
    "Cancelled",
    "Choice",
    "Clarify",
    "ConfirmBooking",
    "Escalation",
    "ExpertReplied",
    "HandoverAction",
    "HandoverStep",
    "Refusal",
    "Relayed",
    "Slot",
    "SlotOffer",
    "TicketOpened",
    "Volunteer",
    "assistant_reply",
    "handover_step",
]


@dataclass(frozen=True)
class Volunteer:
    """Who acts on the volunteer side: a person on one channel, known by the channel's reference
    (the Telegram chat id, a hash of the web chat cookie). Every use case is scoped to it."""

    channel: Channel
    ref: str


# --- the assistant's replies -------------------------------------------------------------------


@dataclass(frozen=True)
class AssistantReply:
    """A stored reply of the assistant: `message_id` for the feedback buttons."""

    reply: Reply
    message_id: int
    conversation_id: str  # public id

    @property
    def text(self) -> str:
        return self.reply.text

    @property
    def citations(self) -> tuple[Citation, ...]:
        return self.reply.citations

    @property
    def suggestions(self) -> tuple[str, ...]:
        return self.reply.suggestions

    @property
    def offer_expert(self) -> bool:
        return self.reply.offer_expert


class Answer(AssistantReply):
    """An answer from the knowledge base, with its numbered citations."""


class Clarify(AssistantReply):
    """A question back: the message was too vague to answer."""


class Escalation(AssistantReply):
    """The assistant hands over to a person (a hand-over step follows it)."""


class Refusal(AssistantReply):
    """Out of scope, unsafe or unreadable; `kind` is the rule that decided (too_long, off_topic…)."""

    @property
    def kind(self) -> str:
        return self.reply.reason


_BY_ACTION: dict[Action, type[AssistantReply]] = {
    Action.ANSWER: Answer,
    Action.CLARIFY: Clarify,
    Action.ESCALATE: Escalation,
    Action.REFUSE: Refusal,
}


def assistant_reply(reply: Reply, message_id: int, conversation_id: str) -> AssistantReply:
    return _BY_ACTION[reply.action](reply, message_id, conversation_id)


# --- the hand-over -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HandoverStep:
    """A step of the hand-over: `text` to show, `choices` as buttons (their `key` goes back to
    `volunteer.press`), `hint` after the slots; empty `text` means say nothing."""

    step: Step
    text: str
    choices: tuple[Choice, ...] = ()
    ticket_code: str | None = None
    queued: bool = False  # the desk outbox has new messages: deliver them now
    hint: str = ""


@dataclass(frozen=True)
class SlotOffer(HandoverStep):
    """Free appointments to pick from, as data (each channel lays them out)."""

    slots: tuple[Slot, ...] = ()


@dataclass(frozen=True)
class ConfirmBooking(HandoverStep):
    """One slot picked: confirm or go back."""

    slot: Slot | None = None


@dataclass(frozen=True)
class TicketOpened(HandoverStep):
    """A written request is open with the experts; messages now go to its ticket."""


@dataclass(frozen=True)
class Booked(HandoverStep):
    """An appointment is booked (or moved): `booking_id` for its page and calendar file."""

    booking_id: int | None = None


@dataclass(frozen=True)
class Relayed(HandoverStep):
    """The message went to the expert's ticket (the notice is said only once)."""


def handover_step(result: StepResult, booking_id: int | None = None) -> HandoverStep:
    """The domain's step as a typed result."""
    r = result
    base = (r.step, r.text, r.choices, r.ticket_code, r.queued, r.hint)
    if r.relayed:
        return Relayed(*base)
    if r.step == Step.DONE and booking_id is not None:
        return Booked(*base, booking_id=booking_id)
    if r.step == Step.DONE and r.queued:
        return TicketOpened(*base)
    if r.slots:
        return SlotOffer(*base, slots=r.slots)
    if r.slot is not None:
        return ConfirmBooking(*base, slot=r.slot)
    return HandoverStep(*base)


# --- other results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpertReplied:
    """An expert answered a ticket by replying to its notification (Telegram)."""

    code: str


@dataclass(frozen=True)
class Cancelled:
    """The person cancelled an appointment; the confirmation travels through the outbox."""

    code: str
