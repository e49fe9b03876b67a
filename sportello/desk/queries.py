"""Every SQL statement of the desk domain; services call these and never build queries."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Insert,
    and_,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload, selectinload

from sportello.db.base import UTCDateTime
from sportello.desk.models import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    BookingStatus,
    Expert,
    ExpertTopic,
    HelpDesk,
    OutboxMessage,
    OutboxStatus,
    Slot,
    Ticket,
    TicketCounter,
    TicketStatus,
)


def _insert(session: Session, model: type[Any]) -> Insert:
    """A Core INSERT (rowcount, no ORM bulk path) with ON CONFLICT support on both backends."""
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def _changed(session: Session, model: type[Any], pk: int, result: Any) -> bool:
    """True if the compare-and-set hit its row; then the loaded object is expired, so it is
    read again on next use (and a rolled-back SAVEPOINT leaves nothing stale in memory)."""
    if _rowcount(result) != 1:
        return False
    loaded = session.identity_map.get(session.identity_key(model, pk))
    if loaded is not None:
        session.expire(loaded)
    return True


# --- desks and experts -----------------------------------------------------------------------


def count_desks(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(HelpDesk)) or 0


def desk_by_slug(session: Session, slug: str) -> HelpDesk | None:
    return session.scalar(select(HelpDesk).where(HelpDesk.slug == slug))


def expert_by_slug(session: Session, slug: str) -> Expert | None:
    return session.scalar(
        select(Expert).where(Expert.slug == slug).options(selectinload(Expert.topics))
    )


def get_expert(session: Session, expert_id: int) -> Expert | None:
    return session.get(Expert, expert_id)


def experts_covering(session: Session, topic: str) -> list[Expert]:
    """Active experts who list `topic`, by name."""
    stmt = (
        select(Expert)
        .join(ExpertTopic, ExpertTopic.expert_id == Expert.id)
        .where(ExpertTopic.topic == topic, Expert.active.is_(True))
        .order_by(Expert.name, Expert.id)
    )
    return list(session.scalars(stmt))


def expert_ids_covering(session: Session, topic: str) -> list[int]:
    stmt = (
        select(Expert.id)
        .join(ExpertTopic, ExpertTopic.expert_id == Expert.id)
        .where(ExpertTopic.topic == topic, Expert.active.is_(True))
        .order_by(Expert.id)
    )
    return list(session.scalars(stmt))


def delete_rules_of(session: Session, expert_id: int) -> None:
    session.execute(delete(AvailabilityRule).where(AvailabilityRule.expert_id == expert_id))


def exception_exists(session: Session, exc: AvailabilityException) -> bool:
    stmt = select(AvailabilityException.id).where(
        AvailabilityException.first_day == exc.first_day,
        AvailabilityException.last_day == exc.last_day,
        _same_or_null(AvailabilityException.desk_id, exc.desk_id),
        _same_or_null(AvailabilityException.expert_id, exc.expert_id),
    )
    return session.scalar(stmt) is not None


def _same_or_null(column: Any, value: int | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


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
    stmt = _insert(session, Slot).on_conflict_do_nothing(  # type: ignore[attr-defined]
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


# --- tickets -----------------------------------------------------------------------------------


def next_ticket_number(session: Session, year: int) -> int:
    """Bump and return the year's counter in one atomic upsert (concurrency-safe on both DBs)."""
    table = TicketCounter.__table__
    stmt = (
        _insert(session, TicketCounter)
        .values(year=year, last=1)
        .on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["year"], set_={"last": table.c.last + 1}
        )
        .returning(table.c.last)
    )
    return int(session.connection().execute(stmt).scalar_one())


def get_ticket(session: Session, ticket_id: int) -> Ticket | None:
    return session.get(Ticket, ticket_id)


def get_ticket_by_code(session: Session, code: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.code == code))


def list_tickets(
    session: Session, *, statuses: Collection[TicketStatus] | None = None, limit: int = 100
) -> list[Ticket]:
    stmt = (
        select(Ticket)
        .options(joinedload(Ticket.assigned_expert), selectinload(Ticket.bookings))
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    if statuses:
        stmt = stmt.where(Ticket.status.in_(list(statuses)))
    return list(session.scalars(stmt))


def update_ticket_if(
    session: Session,
    ticket_id: int,
    *,
    statuses: Collection[TicketStatus],
    values: Mapping[str, Any],
    expert_free_or: int | None = None,
    unassigned: bool = False,
    assigned_at: datetime | None = None,
) -> bool:
    """Compare-and-set on a ticket: change it only if it is still in one of `statuses`.

    `unassigned` also requires no expert (claim); `expert_free_or` requires no expert or that
    one (book); `assigned_at` is recorded unless the ticket already has one. Exactly one of
    concurrent callers wins; the others see rowcount 0.
    """
    values = dict(values)
    if assigned_at is not None:
        values["assigned_at"] = func.coalesce(
            Ticket.assigned_at, literal(assigned_at, UTCDateTime())
        )
    stmt = (
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.status.in_(list(statuses)))
        .execution_options(synchronize_session=False)
    )
    if unassigned:
        stmt = stmt.where(Ticket.assigned_expert_id.is_(None))
    if expert_free_or is not None:
        stmt = stmt.where(
            or_(Ticket.assigned_expert_id.is_(None), Ticket.assigned_expert_id == expert_free_or)
        )
    return _changed(session, Ticket, ticket_id, session.execute(stmt.values(**values)))


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
    return _changed(session, Booking, booking_id, session.execute(stmt.values(**values)))


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


def experts_with_email(session: Session) -> list[Expert]:
    """Active experts who gave an e-mail address (digests, agendas), with their topics."""
    stmt = (
        select(Expert)
        .where(Expert.active.is_(True), Expert.email.is_not(None), Expert.email != "")
        .options(selectinload(Expert.topics))
        .order_by(Expert.id)
    )
    return list(session.scalars(stmt))


def new_tickets_between(
    session: Session, topics: Collection[str], after: datetime, until: datetime
) -> list[Ticket]:
    """Tickets still waiting for an expert, on `topics`, opened in [after, until)."""
    if not topics:
        return []
    stmt = (
        select(Ticket)
        .where(
            Ticket.status == TicketStatus.NEW,
            Ticket.topic.in_(list(topics)),
            Ticket.created_at >= after,
            Ticket.created_at < until,
        )
        .order_by(Ticket.created_at, Ticket.id)
    )
    return list(session.scalars(stmt))


def expert_bookings_between(
    session: Session, expert_id: int, after: datetime, until: datetime
) -> list[Booking]:
    """An expert's active appointments starting in [after, until), in time order."""
    stmt = (
        select(Booking)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(
            Booking.status == BookingStatus.ACTIVE,
            Slot.expert_id == expert_id,
            Slot.starts_at >= after,
            Slot.starts_at < until,
        )
        .options(joinedload(Booking.ticket), joinedload(Booking.slot).joinedload(Slot.desk))
        .order_by(Slot.starts_at)
    )
    return list(session.scalars(stmt).unique())


def failed_email_count(session: Session, ticket_id: int) -> int:
    """E-mails about a ticket parked after their last failed attempt (shown in the console)."""
    stmt = select(func.count(OutboxMessage.id)).where(
        OutboxMessage.ticket_id == ticket_id,
        OutboxMessage.channel == "email",
        OutboxMessage.status == OutboxStatus.FAILED,
    )
    return int(session.scalar(stmt) or 0)


# --- outbox -----------------------------------------------------------------------------------


def insert_outbox_once(session: Session, row: Mapping[str, Any]) -> bool:
    """Insert unless a row with the same idempotency key exists; True if inserted."""
    stmt = (
        _insert(session, OutboxMessage)
        .values(**row)
        .on_conflict_do_nothing(  # type: ignore[attr-defined]
            index_elements=["idempotency_key"]
        )
    )
    # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING here.
    result = session.connection().execute(stmt.returning(OutboxMessage.__table__.c.id))
    return result.first() is not None


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.available_at <= now),
        # A claim whose lease ran out: the sender crashed or hung between send and mark.
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now),
    )


def claim_outbox(
    session: Session,
    *,
    now: datetime,
    lease_until: datetime,
    token: str,
    limit: int,
    channels: Collection[str] | None,
    skip_ids: Iterable[int] = (),
) -> list[OutboxMessage]:
    """Claim up to `limit` deliverable rows with a conditional UPDATE each (one winner per row)."""
    candidates = select(OutboxMessage.id).where(_claimable(now)).order_by(OutboxMessage.id)
    if channels is not None:
        candidates = candidates.where(OutboxMessage.channel.in_(list(channels)))
    skip = list(skip_ids)
    if skip:
        candidates = candidates.where(OutboxMessage.id.not_in(skip))
    claimed: list[int] = []
    for row_id in session.scalars(candidates.limit(limit)):
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, _claimable(now))
            .values(
                status=OutboxStatus.SENDING,
                claim_token=token,
                claimed_until=lease_until,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) == 1:
            claimed.append(row_id)
    if not claimed:
        return []
    return list(
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.id.in_(claimed)).order_by(OutboxMessage.id)
        )
    )


def finish_outbox(session: Session, row_id: int, token: str, values: Mapping[str, Any]) -> bool:
    """Record the outcome of a claim, unless the claim was lost (lease expired, re-claimed)."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row_id,
            OutboxMessage.claim_token == token,
            OutboxMessage.status == OutboxStatus.SENDING,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def outbox_rows(
    session: Session, *, ticket_id: int | None = None, status: OutboxStatus | None = None
) -> list[OutboxMessage]:
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if ticket_id is not None:
        stmt = stmt.where(OutboxMessage.ticket_id == ticket_id)
    if status is not None:
        stmt = stmt.where(OutboxMessage.status == status)
    return list(session.scalars(stmt))


def outbox_backlog(session: Session) -> list[tuple[str, int]]:
    """(channel, messages not delivered yet: pending or being sent), for the metrics gauge."""
    rows = session.execute(
        select(OutboxMessage.channel, func.count())
        .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        .group_by(OutboxMessage.channel)
    ).tuples()
    return [(str(channel), int(count)) for channel, count in rows]


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


def expert_by_chat(session: Session, chat_ref: str) -> Expert | None:
    """The active expert who linked this Telegram chat."""
    return session.scalar(
        select(Expert).where(Expert.telegram_chat_id == chat_ref, Expert.active.is_(True))
    )


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


def bind_chat_link(session: Session, ticket_id: int, browser_ref: str) -> bool:
    """Bind the ticket's mailed chat link to one browser, unless another got there first
    (one atomic UPDATE: two browsers opening the link at once cannot both win)."""
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.chat_link_ref.is_(None))
        .values(chat_link_ref=browser_ref)
        .execution_options(synchronize_session=False)
    )
    return _changed(session, Ticket, ticket_id, result)


def closed_tickets_of(session: Session, channel: str, volunteer_ref: str) -> list[Ticket]:
    """The person's closed tickets, newest first, with their events (for the rating)."""
    stmt = (
        select(Ticket)
        .where(
            Ticket.channel == channel,
            Ticket.volunteer_ref == volunteer_ref,
            Ticket.status == TicketStatus.CLOSED,
        )
        .options(selectinload(Ticket.events))
        .order_by(Ticket.id.desc())
    )
    return list(session.scalars(stmt))


def active_experts(session: Session) -> list[Expert]:
    """Every active expert, by name (the admin's e-mail settings)."""
    stmt = select(Expert).where(Expert.active.is_(True)).order_by(Expert.name, Expert.id)
    return list(session.scalars(stmt))
