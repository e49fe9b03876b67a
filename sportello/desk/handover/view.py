"""The hand-over's steps as data: the sentences (prompts/handover.it.yaml), the buttons, and
`render`, which turns the state into the step a channel shows."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

import yaml

from sportello.config import Settings
from sportello.desk.handover import action as keys
from sportello.desk.handover.state import HandoverState, Mode, Step
from sportello.desk.notifications import messages
from sportello.desk.schemas import SlotOffer
from sportello.knowledge.documents import TOPIC_LABELS
from sportello.texts import PROMPTS_DIR, fill

WEEKDAYS_SHORT = ["lun", "mar", "mer", "gio", "ven", "sab", "dom"]
MONTHS_SHORT = ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"]


@dataclass(frozen=True)
class Choice:
    """A button: show `label`, send `key` back to `choose`; a slot's button carries the slot."""

    key: str
    label: str
    slot: SlotOffer | None = None


@dataclass(frozen=True)
class StepResult:
    """One step as data: `text` is the sentence to show, `slots` the offered appointments (each
    channel lays them out itself: a numbered list on Telegram, one button each on the web),
    `hint` a closing sentence after them, `slot` the appointment to confirm."""

    step: Step
    text: str
    choices: tuple[Choice, ...] = ()
    ticket_code: str | None = None
    queued: bool = False  # the desk outbox has new messages: deliver now
    relayed: bool = False  # the message went to the expert's ticket
    slots: tuple[SlotOffer, ...] = ()
    hint: str = ""
    slot: SlotOffer | None = None


class Stale(Exception):
    """A button or message that does not fit the current step."""


# --- texts -------------------------------------------------------------------------------------


@cache
def _texts() -> dict[str, str]:
    data = yaml.safe_load((PROMPTS_DIR / "handover.it.yaml").read_text("utf-8"))
    return {str(k): str(v).strip() for k, v in data.items()}


def text(key: str, **values: object) -> str:
    """A fixed sentence of the hand-over, with its placeholders filled."""
    return fill(_texts()[key], dict(values), key)


def choice(key: str, label_key: str) -> Choice:
    return Choice(key, text(label_key))


CANCEL = keys.CANCEL


def short_label(offer: SlotOffer) -> str:
    """A slot on a button: 'lun 7 dic · 9:30 · Sportello di Ascoli Piceno'."""
    t = offer.local_start
    return (
        f"{WEEKDAYS_SHORT[t.weekday()]} {t.day} {MONTHS_SHORT[t.month - 1]} · "
        f"{t.hour}:{t.minute:02d} · {offer.desk_name}"
    )


def _tz(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.desk_timezone)


# --- rendering a step --------------------------------------------------------------------------


def render(flow: HandoverState, settings: Settings, notice: str | None = None) -> StepResult:
    step = flow.step
    code = flow.ticket_code
    choices: list[Choice] = []
    slots: tuple[SlotOffer, ...] = ()
    hint = ""
    slot: SlotOffer | None = None
    if step == Step.CONFIRM_TOPIC:
        topic = flow.topic
        if topic:
            body = text("confirm_topic", topic=messages.topic_label(topic))
            choices = [
                choice(keys.topic("yes"), "button_yes_topic"),
                choice(keys.topic("other"), "button_other_topic"),
            ]
        else:
            body = text("choose_topic")
            choices = [Choice(keys.topic(t.value), label) for t, label in TOPIC_LABELS.items()]
    elif step == Step.DESCRIBE_CASE:
        body = text("describe_case")
    elif step == Step.CHOOSE_MODE:
        body = text("choose_mode")
        choices = [
            choice(keys.mode(Mode.WRITTEN), "button_written"),
            choice(keys.mode(Mode.APPOINTMENT), "button_appointment"),
        ]
    elif step == Step.PICK_SLOT:
        offers = flow.offers
        if offers:
            more = bool(flow.page)
            body = text("pick_slot_more" if more else "pick_slot")
            slots, hint = tuple(offers), "" if more else text("pick_slot_hint")
            choices = [
                Choice(keys.slot(o.slot_id), f"{i} · {short_label(o)}", o)
                for i, o in enumerate(offers, 1)
            ]
            choices.append(choice(keys.MORE_SLOTS, "button_more"))
        else:
            body = text("no_slots")
        if not flow.booking_id:  # a new request may always fall back to a written answer
            choices.append(choice(keys.mode(Mode.WRITTEN), "button_written"))
    elif step == Step.CONFIRM:
        offer = slot = slot_to_confirm(flow)
        where = f"{offer.desk_name} — {offer.location}" if offer.location else offer.desk_name
        body = text(
            "confirm",
            when=messages.when(offer.starts_at, _tz(settings)),
            where=where,
            expert=offer.expert_name,
        )
        choices = [choice(keys.CONFIRM, "button_confirm"), choice(keys.BACK, "button_back")]
    elif step == Step.DONE:
        body = text("relayed", code=code)
        return StepResult(step, _join(notice, body), (), code)
    else:
        return StepResult(Step.IDLE, _join(notice, text("nothing_to_leave")))
    choices.append(choice(CANCEL, "button_cancel"))
    return StepResult(
        step, _join(notice, body), tuple(choices), code, slots=slots, hint=hint, slot=slot
    )


def _join(notice: str | None, body: str) -> str:
    return f"{notice}\n\n{body}" if notice else body


def slot_to_confirm(flow: HandoverState) -> SlotOffer:
    if flow.slot is None:
        raise Stale
    return flow.slot
