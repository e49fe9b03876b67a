"""Deactivating and reactivating desks and experts, and what happens to their future bookings.

Deactivation withdraws every future slot of the expert or desk first (an UPDATE that row-locks
them, see `queries.withdraw_future_slots`), then looks at the active bookings those slots hold.
With bookings, staff decide: `reassign` moves each to another active expert of the ticket's
topic free at the same time (all or nothing), `cancel` cancels them with a notice to the
volunteer through the outbox, `ask` changes nothing and raises `DecisionNeeded` listing them
(the caller's transaction rolls back). Inactive experts and desks are never offered slots.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from sportello.clock import aware
from sportello.config import Settings
from sportello.desk.directory import queries
from sportello.desk.directory.records import find_desk, find_expert, get_desk, get_expert
from sportello.desk.directory.texts import error, text
from sportello.desk.models import Booking, EventKind, Expert, HelpDesk, TicketStatus
from sportello.desk.scheduling import bookings
from sportello.desk.scheduling import queries as scheduling_queries
from sportello.desk.scheduling.slots import covering_expert_ids, refresh_slots
from sportello.desk.tickets.events import log_event
from sportello.desk.tickets.states import Actor
from sportello.errors import ErrorCode, SportelloError


class BookingDecision(StrEnum):
    ASK = "ask"
    REASSIGN = "reassign"
    CANCEL = "cancel"


def decision(value: str) -> BookingDecision:
    """Parse what a form or the CLI sent (English value or its Italian word)."""
    words = {"chiedi": "ask", "riassegna": "reassign", "annulla": "cancel"}
    try:
        return BookingDecision(words.get(value.strip().lower(), value.strip().lower()))
    except ValueError:
        raise error(ErrorCode.INVALID_INPUT, "decision_unknown", value=value[:40]) from None


@dataclass(frozen=True)
class AffectedBooking:
    """A future appointment of what is being deactivated, and where it could move."""

    booking_id: int
    ticket_code: str
    starts_at: datetime
    expert_name: str
    desk_name: str
    replacement_slot_id: int | None
    replacement: str | None  # "Esperta X · Sportello Y", same time


class DecisionNeeded(SportelloError):
    """Future bookings stand in the way: nothing was changed; here they are."""

    def __init__(self, name: str, affected: list[AffectedBooking]) -> None:
        super().__init__(
            ErrorCode.CONFLICT, text("decision_needed", name=name, count=len(affected))
        )
        self.name = name
        self.affected = affected


@dataclass
class Deactivation:
    name: str
    decision: BookingDecision
    affected: list[AffectedBooking] = field(default_factory=list)
    reassigned: int = 0
    cancelled: int = 0
    released_tickets: int = 0  # tickets of the expert put back in the queue


def _plan(
    session: Session,
    booking: Booking,
    taken: set[int],
    desk_ids: Collection[int],
) -> AffectedBooking:
    slot = booking.slot
    covering = [
        i for i in covering_expert_ids(booking.ticket.topic, session=session) if i != slot.expert_id
    ]
    if slot.desk_id not in desk_ids:  # a desk closing: the same expert elsewhere is fine too
        covering.append(slot.expert_id)
    free = scheduling_queries.free_slots(
        session,
        expert_ids=covering,
        after=slot.starts_at - timedelta(seconds=1),
        until=slot.starts_at,
        per_desk=20,
        exclude=taken | {slot.id},
    )
    same_time = [s for s in free if s.starts_at == slot.starts_at and s.desk_id not in desk_ids]
    same_time.sort(key=lambda s: (s.desk_id != slot.desk_id, s.expert_name, s.id))
    choice = same_time[0] if same_time else None
    if choice is not None:
        taken.add(choice.id)
    return AffectedBooking(
        booking_id=booking.id,
        ticket_code=booking.ticket.code,
        starts_at=slot.starts_at,
        expert_name=slot.expert.name,
        desk_name=slot.desk.name,
        replacement_slot_id=choice.id if choice else None,
        replacement=f"{choice.expert_name} · {choice.desk_name}" if choice else None,
    )


def settle_bookings(
    name: str,
    how: BookingDecision,
    reason_key: str,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    actor: Actor,
    expert_ids: Collection[int] = (),
    desk_ids: Collection[int] = (),
) -> Deactivation:
    """Withdraw the future slots, then apply `how` to the bookings they hold."""
    session.flush()
    queries.withdraw_future_slots(session, now, expert_ids=expert_ids, desk_ids=desk_ids)
    found = queries.active_future_bookings(session, now, expert_ids=expert_ids, desk_ids=desk_ids)
    taken: set[int] = set()
    plans = [_plan(session, b, taken, desk_ids) for b in found]
    report = Deactivation(name, how, plans)
    if plans and how == BookingDecision.ASK:
        raise DecisionNeeded(name, plans)
    if how == BookingDecision.REASSIGN:
        stuck = [p for p in plans if p.replacement_slot_id is None]
        if stuck:
            listed = ", ".join(f"{p.ticket_code} ({p.expert_name})" for p in stuck)
            raise error(ErrorCode.CONFLICT, "cannot_reassign", bookings=listed)
        for p in plans:
            assert p.replacement_slot_id is not None
            bookings.reschedule(
                p.booking_id,
                p.replacement_slot_id,
                session=session,
                settings=settings,
                now=now,
                actor=actor,
            )
            report.reassigned += 1
    elif how == BookingDecision.CANCEL:
        for p in plans:
            bookings.cancel(
                p.booking_id,
                session=session,
                settings=settings,
                now=now,
                actor=actor,
                reason=text(reason_key),
            )
            report.cancelled += 1
    return report


def release_tickets(
    session: Session, expert_ids: Collection[int], now: datetime, actor: Actor
) -> int:
    """Tickets these experts had taken but not booked go back to the queue for someone else."""
    released = 0
    for ticket in queries.assigned_open_tickets(session, expert_ids, [TicketStatus.ASSIGNED]):
        expert_id = ticket.assigned_expert_id
        if expert_id is not None and queries.release_ticket(session, ticket.id, expert_id, now):
            log_event(session, ticket.id, actor, EventKind.RELEASED, now, expert_id=expert_id)
            released += 1
    return released


class Kind(StrEnum):
    DESK = "desk"
    EXPERT = "expert"


CANCEL_REASON = {Kind.DESK: "cancel_reason_desk", Kind.EXPERT: "cancel_reason_expert"}


def find(session: Session, kind: Kind, ref: int | str) -> HelpDesk | Expert:
    """The desk or expert by id (or, from the CLI, by code)."""
    if kind == Kind.DESK:
        return get_desk(session, ref) if isinstance(ref, int) else find_desk(session, ref)
    return get_expert(session, ref) if isinstance(ref, int) else find_expert(session, ref)


def deactivate(
    kind: Kind,
    ref: int | str,
    how: BookingDecision,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    actor: Actor,
) -> Deactivation:
    """Offered no more; future bookings per `how`. An expert's taken tickets go back to the
    queue; a desk's experts stay active (and keep their tickets, to book elsewhere)."""
    moment = aware(now)
    row = find(session, kind, ref)
    if not row.active:
        raise error(ErrorCode.CONFLICT, "already_inactive", name=row.name)
    row.active = False
    ids = {"expert_ids": [row.id]} if kind == Kind.EXPERT else {"desk_ids": [row.id]}
    report = settle_bookings(
        row.name,
        how,
        CANCEL_REASON[kind],
        session=session,
        settings=settings,
        now=moment,
        actor=actor,
        **ids,
    )
    if kind == Kind.EXPERT:
        report.released_tickets = release_tickets(session, [row.id], moment, actor)
    return report


def activate(
    kind: Kind, ref: int | str, *, session: Session, settings: Settings, now: datetime
) -> str:
    """Active again: the weekly openings produce slots again from now on. Returns the name."""
    row = find(session, kind, ref)
    if row.active:
        raise error(ErrorCode.CONFLICT, "already_active", name=row.name)
    row.active = True
    session.flush()
    experts = [row.id] if kind == Kind.EXPERT else None
    refresh_slots(session=session, settings=settings, now=aware(now), expert_ids=experts)
    return row.name
