"""Scheduling: experts' availability, slots, bookings (no double booking), .ics, reminders.

The public surface below is what code outside `sportello.desk` imports.
"""

from typing import TYPE_CHECKING

from sportello.desk.surface import lazy

if TYPE_CHECKING:
    from sportello.desk.errors import SlotTaken
    from sportello.desk.scheduling.availability import (
        WEEKDAY_LABELS,
        absences_of,
        add_absence,
        add_rule,
        delete_absence,
        delete_rule,
        rules_of,
    )
    from sportello.desk.scheduling.bookings import (
        book,
        cancel,
        describe,
        offer_slots_for_ticket,
        reschedule,
    )
    from sportello.desk.scheduling.ics import booking_ics
    from sportello.desk.scheduling.reminders import queue_due_reminders
    from sportello.desk.scheduling.scheduler import (
        queue_digests_once,
        queue_reminders_once,
        running_reminders,
    )
    from sportello.desk.scheduling.slots import (
        add_exception,
        ensure_slots,
        experts_for_topic,
        offer_slots,
        refresh_slots,
    )
    from sportello.desk.schemas import SlotOffer

__all__ = [
    "WEEKDAY_LABELS",
    "SlotOffer",
    "SlotTaken",
    "absences_of",
    "add_absence",
    "add_exception",
    "add_rule",
    "book",
    "booking_ics",
    "cancel",
    "delete_absence",
    "delete_rule",
    "describe",
    "ensure_slots",
    "experts_for_topic",
    "offer_slots",
    "offer_slots_for_ticket",
    "queue_digests_once",
    "queue_due_reminders",
    "queue_reminders_once",
    "refresh_slots",
    "reschedule",
    "rules_of",
    "running_reminders",
]

__getattr__ = lazy(__name__, __file__)
