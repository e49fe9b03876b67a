"""A pressed hand-over button as a typed value: the channel parses its key, the flow acts on it.

A key is short text (`topic:fisco`, `mode:written`, `slot:42`, `slots:more`, `confirm:yes`,
`confirm:back`, `cancel`): Telegram puts it in callback data (64 bytes at most, with its `ho:`
prefix), the web in a form field or JSON body.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sportello.desk.handover.state import Mode

KEY_MAX = 60  # Telegram's 64 bytes of callback data, less the channel's prefix


class ActionKind(StrEnum):
    TOPIC = "topic"  # value: a topic, "yes" (the one proposed) or "other"
    MODE = "mode"  # mode: written answer or appointment
    MORE_SLOTS = "more_slots"
    SLOT = "slot"  # slot_id
    CONFIRM = "confirm"
    BACK = "back"  # from the confirmation back to the slots
    CANCEL = "cancel"


@dataclass(frozen=True)
class HandoverAction:
    kind: ActionKind
    value: str | None = None
    mode: Mode | None = None
    slot_id: int | None = None

    @property
    def key(self) -> str:
        """The button's key, what `parse` reads back."""
        match self.kind:
            case ActionKind.TOPIC:
                return f"topic:{self.value}"
            case ActionKind.MODE:
                return f"mode:{self.mode}"
            case ActionKind.MORE_SLOTS:
                return "slots:more"
            case ActionKind.SLOT:
                return f"slot:{self.slot_id}"
            case ActionKind.CONFIRM:
                return "confirm:yes"
            case ActionKind.BACK:
                return "confirm:back"
            case ActionKind.CANCEL:
                return "cancel"

    @classmethod
    def parse(cls, key: str) -> HandoverAction | None:
        """The action a key names; None for a key no button has (the flow shows its step again)."""
        if len(key) > KEY_MAX:
            return None
        kind, _, value = key.partition(":")
        if key == "cancel":
            return cls(ActionKind.CANCEL)
        if key == "slots:more":
            return cls(ActionKind.MORE_SLOTS)
        if key == "confirm:yes":
            return cls(ActionKind.CONFIRM)
        if key == "confirm:back":
            return cls(ActionKind.BACK)
        if kind == "topic" and value:
            return cls(ActionKind.TOPIC, value=value)
        if kind == "mode" and value in {m.value for m in Mode}:
            return cls(ActionKind.MODE, mode=Mode(value))
        if kind == "slot" and value.isdigit():
            return cls(ActionKind.SLOT, slot_id=int(value))
        return None


def topic(value: str) -> str:
    return HandoverAction(ActionKind.TOPIC, value=value).key


def mode(value: Mode) -> str:
    return HandoverAction(ActionKind.MODE, mode=value).key


def slot(slot_id: int) -> str:
    return HandoverAction(ActionKind.SLOT, slot_id=slot_id).key


CANCEL = HandoverAction(ActionKind.CANCEL).key
MORE_SLOTS = HandoverAction(ActionKind.MORE_SLOTS).key
CONFIRM = HandoverAction(ActionKind.CONFIRM).key
BACK = HandoverAction(ActionKind.BACK).key
