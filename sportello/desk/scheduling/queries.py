"""Every SQL statement of scheduling: availability, slots, bookings, the reminders' reads."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, joinedload

from sportello.desk.models import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    BookingStatus,
    Expert,
    HelpDesk,
    Slot,
    Ticket,
    TicketStatus,
)
from sportello.desk.queries import changed_row, core_insert

# --- availability and slots ------------------------------------------------------------------


def active_rules(
    session: Session, expert_ids: Collection[int] | None = None
) -> list[AvailabilityRule]:
    """Rules of active experts at active desks (optionally only some experts)."""
    stmt = (
        select(AvailabilityRule)
        .join(Expert, Expert.id == AvailabilityRule.expert_id)
        .join(HelpDesk, HelpDesk.id == AvailabilityRule.desk_id)
        .where(Expert.active.is_(True), HelpDesk.active.is_(True))
        .order_by(AvailabilityRule.id)
    )
    if expert_ids is not None:
        stmt = stmt.where(AvailabilityRule.expert_id.in_(list(expert_ids)))
    return list(session.scalars(stmt))


def rules_need_generation(session: Session, until: date) -> bool:
    """True when some active rule has no slots materialised up to `until`."""
    stmt = (
        select(AvailabilityRule.id)
        .join(Expert, Expert.id == AvailabilityRule.expert_id)
        .join(HelpDesk, HelpDesk.id == AvailabilityRule.desk_id)
        .where(
            Expert.active.is_(True),
            HelpDesk.active.is_(True),
            or_(
                AvailabilityRule.generated_until.is_(None),
                AvailabilityRule.generated_until < until,
            ),
        )
        .limit(1)
    )
    return session.scalar(stmt) is not None


def mark_rules_generated(session: Session, rule_ids: Collection[int], until: date) -> None:
    if rule_ids:
        session.execute(
            update(AvailabilityRule)
            .where(AvailabilityRule.id.in_(list(rule_ids)))
            .values(generated_until=until)
            .execution_options(synchronize_session=False)
        )


def exceptions_between(session: Session, first: date, last: date) -> list[AvailabilityException]:
    stmt = select(AvailabilityException).where(
        AvailabilityException.first_day <= last, AvailabilityException.last_day >= first
    )
    return list(session.scalars(stmt))


def future_slots(
    session: Session, after: datetime, expert_ids: Collection[int] | None = None
) -> list[tuple[Slot, bool]]:
    """Slots starting after `after`, each with whether an active booking holds it."""
    booked = _slot_is_booked()
    stmt = select(Slot, booked).where(Slot.starts_at > after).order_by(Slot.starts_at)
    if expert_ids is not None:
        stmt = stmt.where(Slot.expert_id.in_(list(expert_ids)))
    return [(slot, bool(is_booked)) for slot, is_booked in session.execute(stmt)]


def insert_slots(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert slots, skipping any (expert, start) that already exists (idempotent, race-safe)."""
    if not rows:
        return 0
    stmt = core_insert(session, Slot).on_conflict_do_nothing(  # type: ignore[attr-defined]
        index_elements=["expert_id", "starts_at"]
    )
    # RETURNING counts the rows really inserted (executemany's rowcount is unreliable on PG).
    result = session.connection().execute(stmt.returning(Slot.__table__.c.id), list(rows))
    return len(result.all())


def set_slots_withdrawn(session: Session, slot_ids: Collection[int], withdrawn: bool) -> None:
    if slot_ids:
        session.execute(
            update(Slot)
            .where(Slot.id.in_(list(slot_ids)))
            .values(withdrawn=withdrawn)
            .execution_options(synchronize_session="fetch")
        )


def _slot_is_booked() -> Any:
    return (
        exists()
        .where(Booking.slot_id == Slot.id, Booking.status == BookingStatus.ACTIVE)
        .correlate(Slot)
    )


def get_slot(session: Session, slot_id: int) -> tuple[Slot, bool] | None:
    """The slot and whether an active booking holds it, in one query."""
    stmt = select(Slot, _slot_is_booked()).where(Slot.id == slot_id)
    row = session.execute(stmt).first()
    return (row[0], bool(row[1])) if row is not None else None


class FreeSlot(NamedTuple):
    """A bookable slot with what an offer shows (plain columns: no ORM objects to build)."""

    id: int
    starts_at: datetime
    ends_at: datetime
    desk_id: int
    desk_name: str
    desk_kind: str
    desk_address: str | None
    desk_link: str | None
    expert_id: int
    expert_name: str


def free_slots(
    session: Session,
    *,
    expert_ids: Collection[int],
    after: datetime,
    until: datetime,
    per_desk: int,
    exclude: Collection[int] = (),
) -> list[FreeSlot]:
    """The first `per_desk` free, bookable slots at each desk, earliest first."""
    if not expert_ids:
        return []
    conditions: list[ColumnElement[bool]] = [
        Slot.expert_id.in_(list(expert_ids)),
        Slot.starts_at > after,
        Slot.starts_at <= until,
        Slot.withdrawn.is_(False),
        Expert.active.is_(True),
        HelpDesk.active.is_(True),
        ~_slot_is_booked(),
    ]
    if exclude:
        conditions.append(Slot.id.not_in(list(exclude)))
    rank = func.row_number().over(partition_by=Slot.desk_id, order_by=(Slot.starts_at, Slot.id))
    ranked = (
        select(
            Slot.id,
            Slot.starts_at,
            Slot.ends_at,
            Slot.desk_id,
            HelpDesk.name.label("desk_name"),
            HelpDesk.kind.label("desk_kind"),
            HelpDesk.address.label("desk_address"),
            HelpDesk.meeting_link.label("desk_link"),
            Slot.expert_id,
            Expert.name.label("expert_name"),
            rank.label("rn"),
        )
        .join(Expert, Expert.id == Slot.expert_id)
        .join(HelpDesk, HelpDesk.id == Slot.desk_id)
        .where(and_(*conditions))
        .subquery()
    )
    columns = [ranked.c[name] for name in FreeSlot._fields]
    stmt = select(*columns).where(ranked.c.rn <= per_desk).order_by(ranked.c.starts_at, ranked.c.id)
    return [FreeSlot(*row) for row in session.execute(stmt)]


# --- bookings ---------------------------------------------------------------------------------


def get_booking(session: Session, booking_id: int) -> Booking | None:
    stmt = (
        select(Booking)
        .where(Booking.id == booking_id)
        .options(
            joinedload(Booking.ticket).joinedload(Ticket.assigned_expert),
            joinedload(Booking.slot).joinedload(Slot.desk),
            joinedload(Booking.slot).joinedload(Slot.expert),
        )
    )
    return session.scalar(stmt)


def active_booking_of(session: Session, ticket_id: int) -> Booking | None:
    stmt = select(Booking).where(
        Booking.ticket_id == ticket_id, Booking.status == BookingStatus.ACTIVE
    )
    booking_id = session.scalar(stmt.with_only_columns(Booking.id))
    return get_booking(session, booking_id) if booking_id is not None else None


def active_booking_ids(session: Session, slot_id: int) -> list[int]:
    stmt = select(Booking.id).where(
        Booking.slot_id == slot_id, Booking.status == BookingStatus.ACTIVE
    )
    return list(session.scalars(stmt))


def add_and_flush(session: Session, obj: object) -> None:
    """INSERT now, so a unique index violation surfaces here (inside the caller's SAVEPOINT)."""
    session.add(obj)
    session.flush([obj])


def update_booking_if(
    session: Session,
    booking_id: int,
    *,
    status: BookingStatus,
    values: Mapping[str, Any],
    slot_id: int | None = None,
    bump_sequence: bool = False,
) -> bool:
    """Compare-and-set on a booking; `slot_id` also requires it to still hold that slot.

    `bump_sequence` increments the iCalendar SEQUENCE (reschedule, cancel) in the same UPDATE.
    """
    values = dict(values)
    if bump_sequence:
        values["sequence"] = Booking.sequence + 1
    stmt = (
        update(Booking)
        .where(Booking.id == booking_id, Booking.status == status)
        .execution_options(synchronize_session=False)
    )
    if slot_id is not None:
        stmt = stmt.where(Booking.slot_id == slot_id)
    return changed_row(session, Booking, booking_id, session.execute(stmt.values(**values)))


def bookings_starting_between(session: Session, after: datetime, until: datetime) -> list[Booking]:
    """Active bookings of scheduled tickets whose appointment starts in (after, until]."""
    stmt = (
        select(Booking)
        .join(Slot, Slot.id == Booking.slot_id)
        .join(Ticket, Ticket.id == Booking.ticket_id)
        .where(
            Booking.status == BookingStatus.ACTIVE,
            Ticket.status == TicketStatus.SCHEDULED,
            Slot.starts_at > after,
            Slot.starts_at <= until,
        )
        .options(
            joinedload(Booking.ticket),
            joinedload(Booking.slot).joinedload(Slot.desk),
            joinedload(Booking.slot).joinedload(Slot.expert),
        )
        .order_by(Slot.starts_at)
    )
    return list(session.scalars(stmt).unique())


def bookings_ahead_of(
    session: Session, channel: str, volunteer_ref: str, now: datetime
) -> list[Booking]:
    """A person's active appointments still ahead, earliest first."""
    stmt = (
        select(Booking)
        .join(Ticket, Ticket.id == Booking.ticket_id)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(
            Booking.status == BookingStatus.ACTIVE,
            Ticket.channel == channel,
            Ticket.volunteer_ref == volunteer_ref,
            Slot.starts_at > now,
        )
        .order_by(Slot.starts_at)
    )
    return list(session.scalars(stmt))


def rules_of(session: Session, expert_id: int) -> list[AvailabilityRule]:
    stmt = (
        select(AvailabilityRule)
        .where(AvailabilityRule.expert_id == expert_id)
        .order_by(AvailabilityRule.weekday, AvailabilityRule.start_time, AvailabilityRule.id)
    )
    return list(session.scalars(stmt))


def absences_of(session: Session, expert_id: int, since: date) -> list[AvailabilityException]:
    """The expert's own absences that end on or after `since` (desk-wide closures excluded)."""
    stmt = (
        select(AvailabilityException)
        .where(
            AvailabilityException.expert_id == expert_id,
            AvailabilityException.last_day >= since,
        )
        .order_by(AvailabilityException.first_day)
    )
    return list(session.scalars(stmt))
