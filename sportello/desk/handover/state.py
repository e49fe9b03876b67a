"""The hand-over's persisted state, typed: one versioned model kept in `Conversation.state`
under its own key (other keys of that JSON column belong to others, e.g. web delivery)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from sportello.conversations.models import Conversation
from sportello.desk.schemas import SlotOffer

STATE_KEY = "handover"
VERSION = 1


class Step(StrEnum):
    IDLE = "idle"  # no flow: the assistant answers
    CONFIRM_TOPIC = "confirm_topic"
    DESCRIBE_CASE = "describe_case"
    CHOOSE_MODE = "choose_mode"
    PICK_SLOT = "pick_slot"
    CONFIRM = "confirm"
    DONE = "done"  # a ticket is open with an expert: messages go to it


class Mode(StrEnum):
    WRITTEN = "written"
    APPOINTMENT = "appointment"


class HandoverState(BaseModel):
    """Where one person's hand-over stands. Rows written before the version field (same keys)
    read as version 1; a future shape bumps VERSION and converts here."""

    version: int = VERSION
    step: Step = Step.IDLE
    topic: str | None = None
    mode: Mode | None = None
    summary: str | None = None  # the case as the person described it
    offers: list[SlotOffer] = Field(default_factory=list)  # the slots shown now
    page: int = 0  # 0: first page of slots; more: "altre date"
    slot: SlotOffer | None = None  # the slot to confirm
    ticket_id: int | None = None
    ticket_code: str | None = None
    booking_id: int | None = None  # set when moving an existing appointment
    noticed: bool = False  # done: the person was told their messages go to the expert


def load(conversation: Conversation) -> HandoverState:
    raw: Any = (conversation.state or {}).get(STATE_KEY)
    return HandoverState.model_validate(raw) if isinstance(raw, dict) else HandoverState()


def save(conversation: Conversation, flow: HandoverState | None) -> None:
    # A new dict, so SQLAlchemy sees the JSON column change.
    state = dict(conversation.state or {})
    if flow is None:
        state.pop(STATE_KEY, None)
    else:
        state[STATE_KEY] = flow.model_dump(mode="json")
    conversation.state = state
