"""Bookable slots: materialised from weekly rules minus exceptions, offered earliest first.

Rules are wall-clock times at the desk (Europe/Rome); slots are stored in UTC, so a 9:00 slot
is 8:00 UTC in winter and 7:00 UTC in summer. Wall times that do not exist (the hour skipped
when clocks go forward) produce no slot; repeated ones (clocks go back) take the first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from sportello.clock import aware
from sportello.config import Settings
from sportello.desk import queries as desk_queries
from sportello.desk.models import (
    AvailabilityException,
    AvailabilityRule,
    DeskKind,
    Expert,
    desk_location,
)
from sportello.desk.notifications import messages
from sportello.desk.scheduling import queries as scheduling_queries
from sportello.desk.schemas import SlotOffer, SlotRefreshReport
from sportello.errors import ErrorCode, SportelloError
from sportello.knowledge.documents import Topic


@dataclass(frozen=True)
class PlannedSlot:
    expert_id: int
    desk_id: int
    starts_at: datetime
    ends_at: datetime


def check_topic(topic: str) -> Topic:
    try:
        return Topic(topic)
    except ValueError:
        known = ", ".join(t.value for t in Topic)
        raise SportelloError(
            ErrorCode.INVALID_INPUT, f"Tema sconosciuto «{topic}». Temi possibili: {known}."
        ) from None


def experts_for_topic(topic: str, *, session: Session) -> list[Expert]:
    """Active experts covering `topic`; when nobody does, the general help-desk experts."""
    check_topic(topic)
    experts = desk_queries.experts_covering(session, topic)
    if not experts and topic != Topic.SPORTELLO:
        experts = desk_queries.experts_covering(session, Topic.SPORTELLO)
    return experts


def covering_expert_ids(topic: str, *, session: Session) -> list[int]:
    """Ids of `experts_for_topic` (same fallback), without loading the experts."""
    check_topic(topic)
    ids = desk_queries.expert_ids_covering(session, topic)
    if not ids and topic != Topic.SPORTELLO:
        ids = desk_queries.expert_ids_covering(session, Topic.SPORTELLO)
    return ids


def wall_to_utc(day: date, wall: time, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a desk-local wall time, or None if that time does not exist."""
    naive = datetime.combine(day, wall)
    local = naive.replace(tzinfo=tz)  # fold=0: the first of two repeated times
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return instant


def plan_slots(
    rules: Collection[AvailabilityRule],
    exceptions: Collection[AvailabilityException],
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
) -> Iterator[PlannedSlot]:
    """Every slot the rules produce on local days first_day..last_day, minus exceptions."""
    by_weekday: dict[int, list[AvailabilityRule]] = defaultdict(list)
    for rule in rules:
        by_weekday[rule.weekday].append(rule)
    day = first_day
    while day <= last_day:
        for rule in by_weekday.get(day.weekday(), []):
            if (rule.valid_from and day < rule.valid_from) or (
                rule.valid_until and day > rule.valid_until
            ):
                continue
            if any(_excludes(exc, rule, day) for exc in exceptions):
                continue
            step = timedelta(minutes=rule.slot_minutes)
            start = datetime.combine(day, rule.start_time)
            limit = datetime.combine(day, rule.end_time)
            while start + step <= limit:
                # A slot lasts its minutes of real time: on the night clocks go back, a
                # 02:30 slot would otherwise run to 03:00 of the second pass (90 minutes).
                begins = wall_to_utc(day, start.time(), tz)
                if begins is not None:
                    yield PlannedSlot(rule.expert_id, rule.desk_id, begins, begins + step)
                start += step
        day += timedelta(days=1)


def _excludes(exc: AvailabilityException, rule: AvailabilityRule, day: date) -> bool:
    return (
        exc.first_day <= day <= exc.last_day
        and exc.expert_id in (None, rule.expert_id)
        and exc.desk_id in (None, rule.desk_id)
    )


def refresh_slots(
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    expert_ids: Collection[int] | None = None,
) -> SlotRefreshReport:
    """Make future slots match the rules for the horizon: add missing, withdraw stale free ones.

    Idempotent and safe to run concurrently (inserts skip existing expert+start pairs). A
    booked slot is never withdrawn; its booking is reported as a conflict for staff to move.
    """
    moment = aware(now)
    tz = ZoneInfo(settings.desk_timezone)
    today = moment.astimezone(tz).date()
    last_day = today + timedelta(days=settings.desk_slot_horizon_days)
    rules = scheduling_queries.active_rules(session, expert_ids)
    exceptions = scheduling_queries.exceptions_between(session, today, last_day)
    planned = {
        (p.expert_id, p.starts_at): p
        for p in plan_slots(rules, exceptions, today, last_day, tz)
        if p.starts_at > moment
    }
    report = SlotRefreshReport()
    stale: list[int] = []
    restore: list[int] = []
    for slot, booked in scheduling_queries.future_slots(session, moment, expert_ids):
        plan = planned.pop((slot.expert_id, slot.starts_at), None)
        if plan is not None and plan.desk_id == slot.desk_id and plan.ends_at == slot.ends_at:
            if slot.withdrawn:
                restore.append(slot.id)
        elif plan is not None and not booked:  # same start, other desk or length: follow the rule
            slot.desk_id, slot.ends_at, slot.withdrawn = plan.desk_id, plan.ends_at, False
            report.restored += 1
        elif booked:
            report.conflicting_booking_ids.extend(
                scheduling_queries.active_booking_ids(session, slot.id)
            )
        elif not slot.withdrawn and (expert_ids is None or slot.expert_id in expert_ids):
            stale.append(slot.id)
    scheduling_queries.set_slots_withdrawn(session, stale, True)
    scheduling_queries.set_slots_withdrawn(session, restore, False)
    report.withdrawn += len(stale)
    report.restored += len(restore)
    report.created = scheduling_queries.insert_slots(
        session,
        [
            {
                "expert_id": p.expert_id,
                "desk_id": p.desk_id,
                "starts_at": p.starts_at,
                "ends_at": p.ends_at,
                "withdrawn": False,
            }
            for p in sorted(planned.values(), key=lambda p: (p.starts_at, p.expert_id))
        ],
    )
    scheduling_queries.mark_rules_generated(session, [r.id for r in rules], last_day)
    return report


def ensure_slots(*, session: Session, settings: Settings, now: datetime) -> None:
    """Materialise slots for the horizon if some rule is behind (cheap when up to date)."""
    moment = aware(now)
    tz = ZoneInfo(settings.desk_timezone)
    until = moment.astimezone(tz).date() + timedelta(days=settings.desk_slot_horizon_days)
    if scheduling_queries.rules_need_generation(session, until):
        refresh_slots(session=session, settings=settings, now=moment)


def to_offer(slot: scheduling_queries.FreeSlot, tz: ZoneInfo) -> SlotOffer:
    return SlotOffer(
        slot_id=slot.id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        local_start=slot.starts_at.astimezone(tz),
        desk_id=slot.desk_id,
        desk_name=slot.desk_name,
        desk_kind=DeskKind(slot.desk_kind),
        location=desk_location(slot.desk_kind, slot.desk_address, slot.desk_link),
        expert_id=slot.expert_id,
        expert_name=slot.expert_name,
        label=messages.slot_label(slot.starts_at, tz, slot.desk_name, slot.expert_name),
    )


def spread_over_desks(
    slots: list[scheduling_queries.FreeSlot], limit: int
) -> list[scheduling_queries.FreeSlot]:
    """Round-robin over desks (each desk's earliest first), then sorted by time.

    Three offers are then, say, Ascoli on Monday, San Benedetto on Tuesday and online on
    Wednesday, rather than three consecutive half-hours at one desk.
    """
    queues: dict[int, list[scheduling_queries.FreeSlot]] = defaultdict(list)
    for slot in sorted(slots, key=lambda s: (s.starts_at, s.id)):
        queues[slot.desk_id].append(slot)
    order = sorted(queues.values(), key=lambda q: (q[0].starts_at, q[0].id))
    chosen: list[scheduling_queries.FreeSlot] = []
    depth = 0
    while len(chosen) < limit and any(depth < len(q) for q in order):
        chosen.extend(q[depth] for q in order if depth < len(q))
        depth += 1
    return sorted(chosen[:limit], key=lambda s: (s.starts_at, s.id))


def offer_slots(
    topic: str,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    limit: int = 5,
    after: datetime | None = None,
    expert_id: int | None = None,
    exclude: Collection[int] = (),
    ensure: bool = True,
) -> list[SlotOffer]:
    """Free future slots of experts covering `topic` (or only `expert_id`), spread over desks."""
    moment = aware(now)
    if ensure:
        ensure_slots(session=session, settings=settings, now=moment)
    ids = [i for i in covering_expert_ids(topic, session=session) if expert_id in (None, i)]
    return offers_from(
        ids,
        session=session,
        settings=settings,
        now=moment,
        limit=limit,
        after=after,
        exclude=exclude,
    )


def offers_from(
    expert_ids: Collection[int],
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    limit: int = 5,
    after: datetime | None = None,
    exclude: Collection[int] = (),
) -> list[SlotOffer]:
    """Free slots of these experts, spread over desks (topic already resolved).

    Only slots past the cancellation cut-off are offered: a person must be able to cancel
    what they book (and the expert to prepare), so nothing starts within
    `desk_cancel_notice_hours` of `now`.
    """
    earliest = now + timedelta(hours=settings.desk_cancel_notice_hours)
    start = max(earliest, aware(after)) if after is not None else earliest
    slots = scheduling_queries.free_slots(
        session,
        expert_ids=expert_ids,
        after=start,
        until=now + timedelta(days=settings.desk_slot_horizon_days + 1),
        per_desk=limit,
        exclude=exclude,
    )
    tz = ZoneInfo(settings.desk_timezone)
    return [to_offer(s, tz) for s in spread_over_desks(slots, limit)]


def add_exception(
    *,
    session: Session,
    settings: Settings,
    first_day: date,
    last_day: date | None = None,
    expert_id: int | None = None,
    desk_id: int | None = None,
    reason: str = "",
    now: datetime,
) -> SlotRefreshReport:
    """Close days (holiday, absence, desk closure) and withdraw the free slots they cover."""
    last = last_day or first_day
    if last < first_day:
        raise SportelloError(ErrorCode.INVALID_INPUT, "L'ultimo giorno precede il primo.")
    session.add(
        AvailabilityException(
            first_day=first_day,
            last_day=last,
            expert_id=expert_id,
            desk_id=desk_id,
            reason=reason,
        )
    )
    session.flush()
    return refresh_slots(session=session, settings=settings, now=now)
