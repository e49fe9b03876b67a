"""Inline keyboards and their callback data (short prefixes; Telegram allows 64 bytes).

fb:<message_id>:<1|-1>   feedback on a reply          ex:<message_id>  talk to an expert
sq:<n>                   the n-th suggested question (its text is the button's label)
ho:<key>                 a hand-over choice (sportello.desk.handover keys)
bk:<ask|move|yes|no>:<booking_id>   /appuntamenti     er:<yes|no>  /cancella_dati
rt:<ticket code>:<1-5>   satisfaction after closure   cl:<ticket code>  an expert claims
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from sportello.answering.schemas import Action, Reply
from sportello.channels.telegram.texts import Texts
from sportello.desk.handover import Appointment
from sportello.usecases.results import HandoverStep

MAX_CALLBACK_BYTES = 64


def _button(label: str, data: str) -> InlineKeyboardButton:
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return InlineKeyboardButton(label, callback_data=data)


def _markup(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    rows = [list(r) for r in rows if r]
    return InlineKeyboardMarkup(rows) if rows else None


def reply_keyboard(message_id: int, reply: Reply, texts: Texts) -> InlineKeyboardMarkup | None:
    """👍 / 👎, "Parla con un esperto" (unless the hand-over starts anyway), suggestions."""
    rows: list[list[InlineKeyboardButton]] = [
        [
            _button(texts.plain("button_up"), f"fb:{message_id}:1"),
            _button(texts.plain("button_down"), f"fb:{message_id}:-1"),
        ]
    ]
    if reply.action != Action.ESCALATE:
        rows.append([_button(texts.plain("button_expert"), f"ex:{message_id}")])
    rows.extend([_button(s, f"sq:{i}")] for i, s in enumerate(reply.suggestions[:3]))
    return _markup(rows)


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The same keyboard minus the 👍 / 👎 row (once the vote is in)."""
    if markup is None:
        return None
    rows = [
        row
        for row in markup.inline_keyboard
        if not any(str(b.callback_data or "").startswith("fb:") for b in row)
    ]
    return _markup(rows)


def step_keyboard(result: HandoverStep) -> InlineKeyboardMarkup | None:
    """One button per row: slot and topic labels are long, and thumbs are big on phones."""
    return _markup([[_button(c.label, f"ho:{c.key}")] for c in result.choices])


def appointment_keyboard(item: Appointment, texts: Texts) -> InlineKeyboardMarkup | None:
    row = []
    if item.can_cancel:
        row.append(_button(texts.plain("button_cancel_booking"), f"bk:ask:{item.booking_id}"))
    if item.can_move:
        row.append(_button(texts.plain("button_move_booking"), f"bk:move:{item.booking_id}"))
    return _markup([row])


def cancel_booking_keyboard(booking_id: int, texts: Texts) -> InlineKeyboardMarkup | None:
    return _markup(
        [
            [_button(texts.plain("button_cancel_booking_yes"), f"bk:yes:{booking_id}")],
            [_button(texts.plain("button_keep_booking"), f"bk:no:{booking_id}")],
        ]
    )


def erase_keyboard(texts: Texts) -> InlineKeyboardMarkup | None:
    return _markup(
        [
            [_button(texts.plain("button_erase_yes"), "er:yes")],
            [_button(texts.plain("button_erase_no"), "er:no")],
        ]
    )


def rating_keyboard(code: str) -> InlineKeyboardMarkup | None:
    return _markup([[_button(str(n), f"rt:{code}:{n}") for n in range(1, 6)]])


def claim_keyboard(code: str, texts: Texts) -> InlineKeyboardMarkup | None:
    return _markup([[_button(texts.plain("button_claim"), f"cl:{code}")]])


def button_label(markup: InlineKeyboardMarkup | None, data: str) -> str | None:
    """The label of the button carrying `data` (how a suggestion's text comes back)."""
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
