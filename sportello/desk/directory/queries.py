"""SQL of the staff-managed directory: desks and experts, their future slots and bookings, demo rows."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, selectinload

from sportello.desk.models import (
    AvailabilityRule,
    Booking,
    BookingStatus,
    Expert,
    HelpDesk,
    Slot,
    Ticket,
    TicketStatus,
)


def list_desks(session: Session) -> list[HelpDesk]:
    return list(session.scalars(select(HelpDesk).order_by(HelpDesk.active.desc(), HelpDesk.name)))


def list_experts(session: Session) -> list[Expert]:
    stmt = (
        select(Expert)
        .options(selectinload(Expert.topics))
        .order_by(Expert.active.desc(), Expert.name)
    )
    return list(session.scalars(stmt))


def desk_ids_of_experts(session: Session) -> dict[int, set[int]]:
    """Which desks each expert holds weekly openings at."""
    found: dict[int, set[int]] = {}
    for expert_id, desk_id in session.execute(
        select(AvailabilityRule.expert_id, AvailabilityRule.desk_id).distinct()
    ):
        found.setdefault(expert_id, set()).add(desk_id)
    return found


def slug_taken(session: Session, model: type[HelpDesk] | type[Expert], slug: str) -> bool:
    return session.scalar(select(model.id).where(model.slug == slug)) is not None


def expert_with_chat(session: Session, chat_id: str, other_than: int | None) -> Expert | None:
    stmt = select(Expert).where(Expert.telegram_chat_id == chat_id)
    if other_than is not None:
        stmt = stmt.where(Expert.id != other_than)
    return session.scalars(stmt.limit(1)).first()


def withdraw_future_slots(
    session: Session,
    after: datetime,
    *,
    expert_ids: Collection[int] = (),
    desk_ids: Collection[int] = (),
) -> int:
    """Withdraw every slot of these experts or desks starting after `after`, booked or not.

    The UPDATE row-locks the slots: a booker holding one (`lock_open_slot`) finishes first,
    and one that comes later finds it withdrawn. This is what makes a deactivation and a
    booking at the same moment end in one consistent state on PostgreSQL.
    """
    stmt = (
        update(Slot)
        .where(Slot.starts_at > after)
        .where(or_(Slot.expert_id.in_(list(expert_ids)), Slot.desk_id.in_(list(desk_ids))))
        .values(withdrawn=True)
        .execution_options(synchronize_session="fetch")
    )
    return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def lock_open_slot(session: Session, slot_id: int) -> bool:
    """Row-lock the slot for this transaction; True if it may still be booked (not withdrawn).

    PostgreSQL re-reads the row after waiting for a concurrent withdrawal to commit; SQLite
    runs one writer at a time (BEGIN IMMEDIATE) and ignores FOR UPDATE.
    """
    stmt = select(Slot.withdrawn).where(Slot.id == slot_id).with_for_update()
    withdrawn = session.execute(stmt).scalar_one_or_none()
    return withdrawn is False


def active_future_bookings(
    session: Session,
    after: datetime,
    *,
    expert_ids: Collection[int] = (),
    desk_ids: Collection[int] = (),
) -> list[Booking]:
    """Active bookings of these experts' or desks' slots starting after `after`, in time order."""
    stmt = (
        select(Booking)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(Booking.status == BookingStatus.ACTIVE, Slot.starts_at > after)
        .where(or_(Slot.expert_id.in_(list(expert_ids)), Slot.desk_id.in_(list(desk_ids))))
        .order_by(Slot.starts_at, Booking.id)
        .options(
            selectinload(Booking.ticket),
            selectinload(Booking.slot).selectinload(Slot.expert),
            selectinload(Booking.slot).selectinload(Slot.desk),
        )
    )
    return list(session.scalars(stmt))


def assigned_open_tickets(
    session: Session, expert_ids: Collection[int], statuses: Collection[TicketStatus]
) -> list[Ticket]:
    stmt = (
        select(Ticket)
        .where(Ticket.assigned_expert_id.in_(list(expert_ids)), Ticket.status.in_(list(statuses)))
        .order_by(Ticket.id)
    )
    return list(session.scalars(stmt))


def release_ticket(session: Session, ticket_id: int, expert_id: int, now: datetime) -> bool:
    """Back to the queue (new, nobody's) if still `assigned` to this expert; False otherwise."""
    stmt = (
        update(Ticket)
        .where(
            Ticket.id == ticket_id,
            Ticket.assigned_expert_id == expert_id,
            Ticket.status == TicketStatus.ASSIGNED,
        )
        .values(status=TicketStatus.NEW, assigned_expert_id=None, assigned_at=None, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(session.execute(stmt).rowcount) == 1  # type: ignore[attr-defined]


def example_ids(session: Session) -> tuple[list[int], list[int]]:
    """Ids of the demo desks and the demo experts (`is_example`)."""
    desks = session.scalars(select(HelpDesk.id).where(HelpDesk.is_example.is_(True)))
    experts = session.scalars(select(Expert.id).where(Expert.is_example.is_(True)))
    return list(desks), list(experts)


def delete_bookings_of_slots(
    session: Session, expert_ids: Collection[int], desk_ids: Collection[int]
) -> int:
    """Delete every booking (any status) of these experts' or desks' slots, past ones too."""
    slots = select(Slot.id).where(
        or_(Slot.expert_id.in_(list(expert_ids)), Slot.desk_id.in_(list(desk_ids)))
    )
    stmt = delete(Booking).where(Booking.slot_id.in_(slots))
    return int(session.execute(stmt.execution_options(synchronize_session=False)).rowcount)  # type: ignore[attr-defined]


def delete_experts_and_desks(
    session: Session, expert_ids: Collection[int], desk_ids: Collection[int]
) -> None:
    """Delete the rows; topics, rules, exceptions and slots go with them (ON DELETE CASCADE),
    tickets and accounts keep their rows with no expert (ON DELETE SET NULL)."""
    session.execute(
        delete(Slot)
        .where(or_(Slot.expert_id.in_(list(expert_ids)), Slot.desk_id.in_(list(desk_ids))))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(Expert)
        .where(Expert.id.in_(list(expert_ids)))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(HelpDesk)
        .where(HelpDesk.id.in_(list(desk_ids)))
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
