"""Booking, cancelling and moving appointments; the database refuses a second active booking.

Why a SAVEPOINT: the INSERT (or the UPDATE that moves a booking) may violate the partial
unique index `uq_bookings_active_slot`. On PostgreSQL a failed statement poisons the whole
transaction, so it runs inside `begin_nested()`; rolling back to the savepoint undoes the
ticket's change too and leaves the caller's transaction usable (to compute alternatives, to
record the refusal). On SQLite every transaction starts with BEGIN IMMEDIATE, so bookers are
serialised and the loser simply finds the index already holding the slot.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sportello.clock import aware
from sportello.config import Settings
from sportello.desk.directory import queries as directory_queries
from sportello.desk.errors import SlotTaken
from sportello.desk.models import Booking, BookingStatus, EventKind, Slot, Ticket, TicketStatus
from sportello.desk.notifications import messages, notify
from sportello.desk.scheduling import queries as scheduling_queries
from sportello.desk.scheduling.slots import covering_expert_ids, offer_slots, offers_from
from sportello.desk.schemas import SlotOffer
from sportello.desk.tickets import queries as ticket_queries
from sportello.desk.tickets.events import load_booking, load_slot, load_ticket, log_event
from sportello.desk.tickets.states import ALLOWED, Action, Actor, ActorKind, illegal, require
from sportello.errors import ErrorCode, SportelloError


class _Lost(Exception):
    """A compare-and-set found the row changed under us; undo the savepoint and explain."""


def _violated(exc: IntegrityError) -> str | None:
    """Which booking rule the database enforced: 'slot', 'ticket', or None (something else)."""
    text = str(exc.orig)
    if "uq_bookings_active_slot" in text or "bookings.slot_id" in text:
        return "slot"
    if "uq_bookings_active_ticket" in text or "bookings.ticket_id" in text:
        return "ticket"
    return None


def _check_bookable(
    ticket: Ticket, slot: Slot, actor: Actor, now: datetime, covering: Collection[int]
) -> None:
    if slot.withdrawn:
        raise SportelloError(ErrorCode.NOT_FOUND, "Questo orario non è più disponibile.")
    if slot.starts_at <= now:
        raise SportelloError(ErrorCode.INVALID_INPUT, "Questo orario è già passato.")
    if slot.expert_id not in covering:
        raise SportelloError(
            ErrorCode.INVALID_INPUT,
            f"{slot.expert.name} non segue il tema «{messages.topic_label(ticket.topic)}».",
        )
    other = ticket.assigned_expert
    if other is not None and other.id != slot.expert_id and actor.kind != ActorKind.STAFF:
        raise SportelloError(
            ErrorCode.CONFLICT,
            f"Il ticket {ticket.code} è seguito da {other.name}: scegli uno dei suoi orari.",
        )


def _check_notice(actor: Actor, starts_at: datetime, hours: int, verb: str, now: datetime) -> None:
    if starts_at <= now:
        raise SportelloError(
            ErrorCode.ILLEGAL_TRANSITION, f"L'appuntamento è già iniziato: non si può {verb}."
        )
    if actor.bound_by_notice and starts_at - now < timedelta(hours=hours):
        raise SportelloError(
            ErrorCode.CONFLICT,
            f"Mancano meno di {hours} ore all'appuntamento: non è più possibile {verb} da qui. "
            "Scrivi allo sportello o all'esperto.",
        )


@dataclass(frozen=True)
class _Target:
    """A slot someone wants, checked, with where to look for alternatives if it is lost."""

    slot: Slot
    booked: bool
    alternatives_from: list[int]

    def taken(self, session: Session, settings: Settings, now: datetime) -> SlotTaken:
        alternatives = offers_from(
            self.alternatives_from,
            session=session,
            settings=settings,
            now=now,
            exclude={self.slot.id},
        )
        return SlotTaken(self.slot.id, alternatives)


def _target(session: Session, ticket: Ticket, slot_id: int, actor: Actor, now: datetime) -> _Target:
    slot, booked = load_slot(session, slot_id)
    # Row-lock the slot: a deactivation withdrawing it concurrently either waits for this
    # booking (and then sees it) or has already withdrawn it (and the booking is refused).
    if not directory_queries.lock_open_slot(session, slot_id):
        raise SportelloError(ErrorCode.NOT_FOUND, "Questo orario non è più disponibile.")
    covering = covering_expert_ids(ticket.topic, session=session)
    _check_bookable(ticket, slot, actor, now, covering)
    owner = ticket.assigned_expert_id
    return _Target(slot, booked, [owner] if owner is not None else covering)


def book(
    ticket_id: int,
    slot_id: int,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    actor: Actor | None = None,
) -> Booking:
    """Book `slot_id` for the ticket; raises SlotTaken (with alternatives) if someone was faster."""
    moment, actor = aware(now), actor or Actor.volunteer()
    ticket = load_ticket(session, ticket_id)
    require(ticket.code, ticket.status, Action.BOOK)
    target = _target(session, ticket, slot_id, actor, moment)
    slot = target.slot
    if target.booked:  # the usual way to lose: the winner has already committed
        raise target.taken(session, settings, moment)
    booking = Booking(
        ticket_id=ticket.id,
        slot_id=slot.id,
        status=BookingStatus.ACTIVE,
        sequence=0,
        booked_at=moment,
    )
    try:
        with session.begin_nested():
            won = ticket_queries.update_ticket_if(
                session,
                ticket.id,
                statuses=ALLOWED[Action.BOOK],
                expert_free_or=None if actor.kind == ActorKind.STAFF else slot.expert_id,
                assigned_at=moment,
                values={
                    "status": TicketStatus.SCHEDULED,
                    "assigned_expert_id": slot.expert_id,
                    "updated_at": moment,
                },
            )
            if not won:
                raise _Lost
            scheduling_queries.add_and_flush(session, booking)
    except IntegrityError as exc:
        # Lost inside the window between the check and the INSERT: the index decided.
        rule = _violated(exc)
        if rule == "slot":
            raise target.taken(session, settings, moment) from None
        if rule == "ticket":
            raise illegal(ticket.code, TicketStatus.SCHEDULED, Action.BOOK) from None
        raise
    except _Lost:
        session.refresh(ticket)
        require(ticket.code, ticket.status, Action.BOOK)
        _target(session, ticket, slot_id, actor, moment)
        raise illegal(ticket.code, ticket.status, Action.BOOK) from None
    log_event(
        session,
        ticket.id,
        actor,
        EventKind.BOOKED,
        moment,
        booking_id=booking.id,
        slot_id=slot.id,
        starts_at=slot.starts_at.isoformat(),
        desk_id=slot.desk_id,
        expert_id=slot.expert_id,
    )
    notify.booked(session, booking, settings, moment)
    return booking


def cancel(
    booking_id: int,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    actor: Actor | None = None,
    reason: str | None = None,
) -> Booking:
    """Cancel an appointment; the ticket goes back to its expert (`assigned`) to book again.

    Volunteers must give `desk_cancel_notice_hours` of notice; experts and staff need not.
    """
    moment, actor = aware(now), actor or Actor.volunteer()
    booking = load_booking(session, booking_id)
    ticket = booking.ticket
    if booking.status != BookingStatus.ACTIVE:
        raise SportelloError(ErrorCode.ILLEGAL_TRANSITION, "L'appuntamento è già stato annullato.")
    require(ticket.code, ticket.status, Action.UNBOOK)
    _check_notice(
        actor, booking.slot.starts_at, settings.desk_cancel_notice_hours, "annullarlo", moment
    )
    won = scheduling_queries.update_booking_if(
        session,
        booking.id,
        status=BookingStatus.ACTIVE,
        bump_sequence=True,
        values={"status": BookingStatus.CANCELLED, "cancelled_at": moment, "cancel_reason": reason},
    )
    if not won:
        raise SportelloError(ErrorCode.ILLEGAL_TRANSITION, "L'appuntamento è già stato annullato.")
    ticket_queries.update_ticket_if(
        session,
        ticket.id,
        statuses={TicketStatus.SCHEDULED},
        values={"status": TicketStatus.ASSIGNED, "updated_at": moment},
    )
    log_event(
        session,
        ticket.id,
        actor,
        EventKind.BOOKING_CANCELLED,
        moment,
        booking_id=booking.id,
        slot_id=booking.slot_id,
        reason=reason,
    )
    notify.cancelled(session, booking, reason, settings, moment)
    return booking


def reschedule(
    booking_id: int,
    slot_id: int,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    actor: Actor | None = None,
) -> Booking:
    """Move an appointment to `slot_id`: same booking and calendar UID, SEQUENCE + 1.

    Volunteers must give `desk_reschedule_notice_hours` of notice; staff may also move the
    appointment to another expert covering the topic (the ticket follows).
    """
    moment, actor = aware(now), actor or Actor.volunteer()
    booking = load_booking(session, booking_id)
    ticket = booking.ticket
    if booking.status != BookingStatus.ACTIVE:
        raise SportelloError(ErrorCode.ILLEGAL_TRANSITION, "L'appuntamento è stato annullato.")
    require(ticket.code, ticket.status, Action.RESCHEDULE)
    if booking.slot_id == slot_id:
        raise SportelloError(ErrorCode.INVALID_INPUT, "È già l'orario dell'appuntamento.")
    _check_notice(
        actor, booking.slot.starts_at, settings.desk_reschedule_notice_hours, "spostarlo", moment
    )
    target = _target(session, ticket, slot_id, actor, moment)
    new_slot = target.slot
    if target.booked:
        raise target.taken(session, settings, moment)
    previous_expert, old_slot_id = booking.slot.expert, booking.slot_id
    try:
        with session.begin_nested():
            won = scheduling_queries.update_booking_if(
                session,
                booking.id,
                status=BookingStatus.ACTIVE,
                slot_id=old_slot_id,
                bump_sequence=True,
                values={"slot_id": new_slot.id, "booked_at": moment},
            )
            if not won:
                raise _Lost
            if new_slot.expert_id != ticket.assigned_expert_id:
                ticket_queries.update_ticket_if(
                    session,
                    ticket.id,
                    statuses={TicketStatus.SCHEDULED},
                    values={"assigned_expert_id": new_slot.expert_id, "updated_at": moment},
                )
    except IntegrityError as exc:
        if _violated(exc) != "slot":
            raise
        raise target.taken(session, settings, moment) from None
    except _Lost:
        raise SportelloError(
            ErrorCode.CONFLICT, "L'appuntamento è appena stato modificato: ricarica e riprova."
        ) from None
    session.expire(booking)  # its slot relationship still points at the old slot
    log_event(
        session,
        ticket.id,
        actor,
        EventKind.RESCHEDULED,
        moment,
        booking_id=booking.id,
        from_slot_id=old_slot_id,
        to_slot_id=new_slot.id,
        starts_at=new_slot.starts_at.isoformat(),
        expert_id=new_slot.expert_id,
    )
    notify.rescheduled(session, booking, previous_expert, settings, moment)
    return booking


def offer_slots_for_ticket(
    ticket_id: int,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    limit: int = 5,
    after: datetime | None = None,
) -> list[SlotOffer]:
    """What to offer this ticket's volunteer: its expert's slots once assigned, else the topic's."""
    ticket = load_ticket(session, ticket_id)
    return offer_slots(
        ticket.topic,
        session=session,
        settings=settings,
        now=now,
        limit=limit,
        after=after,
        expert_id=ticket.assigned_expert_id,
    )


def describe(booking: Booking, settings: Settings) -> str:
    """The appointment in one Italian paragraph (for channels that show it again)."""
    return notify.details(booking, ZoneInfo(settings.desk_timezone))
