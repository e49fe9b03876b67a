"""The desk's public service API: one import for channels, the CLI and the app.

Every function takes the caller's `session` (keyword-only) and never commits; time-dependent
ones take `now` so tests are deterministic. The rules live in the modules re-exported here.
"""

from __future__ import annotations

from sportello.desk.bookings import book, cancel, describe, offer_slots_for_ticket, reschedule
from sportello.desk.errors import SlotTaken
from sportello.desk.ics import booking_ics
from sportello.desk.outbox import Sender, deliver_pending
from sportello.desk.reminders import queue_due_reminders
from sportello.desk.schemas import SlotOffer
from sportello.desk.seed import DEMO_FILE, apply_seed, load_seed
from sportello.desk.slots import (
    add_exception,
    ensure_slots,
    experts_for_topic,
    offer_slots,
    refresh_slots,
)
from sportello.desk.states import Actor
from sportello.desk.tickets import (
    cancel_ticket,
    claim,
    close,
    find_ticket,
    list_tickets,
    open_ticket,
    reply,
    volunteer_wrote,
)

__all__ = [
    "DEMO_FILE",
    "Actor",
    "Sender",
    "SlotOffer",
    "SlotTaken",
    "add_exception",
    "apply_seed",
    "book",
    "booking_ics",
    "cancel",
    "cancel_ticket",
    "claim",
    "close",
    "deliver_pending",
    "describe",
    "ensure_slots",
    "experts_for_topic",
    "find_ticket",
    "list_tickets",
    "load_seed",
    "offer_slots",
    "offer_slots_for_ticket",
    "open_ticket",
    "queue_due_reminders",
    "refresh_slots",
    "reply",
    "reschedule",
    "volunteer_wrote",
]
