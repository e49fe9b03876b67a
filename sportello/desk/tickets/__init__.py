"""Tickets: their life cycle and who may move it, notes, the event log, the console's reads.

The public surface below is what code outside `sportello.desk` imports.
"""

from typing import TYPE_CHECKING

from sportello.desk.surface import lazy

if TYPE_CHECKING:
    from sportello.desk.tickets.notes import NOTE_MAX, add_note, notes_of
    from sportello.desk.tickets.reports import (
        OPEN_STATUSES,
        ExpertReply,
        appointments,
        booking_detail,
        bookings_per_desk,
        desks,
        expert_replies,
        expert_reply,
        first_reply_hours,
        get_expert,
        median_first_reply_hours,
        queue,
        ticket_detail,
        tickets_by_status,
        tickets_of_conversation,
        undelivered_emails,
    )
    from sportello.desk.tickets.states import ALLOWED, STATUS_LABELS, Action, Actor, ActorKind
    from sportello.desk.tickets.tickets import (
        cancel_ticket,
        claim,
        close,
        find_ticket,
        list_tickets,
        open_ticket,
        reply,
        ticket_by_code,
        volunteer_wrote,
    )

__all__ = [
    "ALLOWED",
    "NOTE_MAX",
    "OPEN_STATUSES",
    "STATUS_LABELS",
    "Action",
    "Actor",
    "ActorKind",
    "ExpertReply",
    "add_note",
    "appointments",
    "booking_detail",
    "bookings_per_desk",
    "cancel_ticket",
    "claim",
    "close",
    "desks",
    "expert_replies",
    "expert_reply",
    "find_ticket",
    "first_reply_hours",
    "get_expert",
    "list_tickets",
    "median_first_reply_hours",
    "notes_of",
    "open_ticket",
    "queue",
    "reply",
    "ticket_by_code",
    "ticket_detail",
    "tickets_by_status",
    "tickets_of_conversation",
    "undelivered_emails",
    "volunteer_wrote",
]

__getattr__ = lazy(__name__, __file__)
