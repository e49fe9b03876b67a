"""An expert's own availability: weekly rules and absences, with the slots kept in step."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy.orm import Session

from sportello.clock import aware
from sportello.config import Settings
from sportello.desk.models import AvailabilityException, AvailabilityRule, HelpDesk
from sportello.desk.scheduling import queries
from sportello.desk.scheduling.slots import add_exception, refresh_slots
from sportello.desk.schemas import SlotRefreshReport
from sportello.errors import ErrorCode, SportelloError

WEEKDAY_LABELS = ["lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"]


def rules_of(expert_id: int, *, session: Session) -> list[AvailabilityRule]:
    return queries.rules_of(session, expert_id)


def absences_of(expert_id: int, *, session: Session, since: date) -> list[AvailabilityException]:
    """The expert's own absences that end on or after `since` (desk-wide closures excluded)."""
    return queries.absences_of(session, expert_id, since)


def add_rule(
    expert_id: int,
    *,
    session: Session,
    settings: Settings,
    desk_id: int,
    weekday: int,
    start: time,
    end: time,
    slot_minutes: int,
    now: datetime,
) -> SlotRefreshReport:
    """Add a weekly opening (e.g. every Tuesday 9:00-12:00 at a desk) and create its slots."""
    if not 0 <= weekday <= 6:
        raise SportelloError(ErrorCode.INVALID_INPUT, "Giorno della settimana non valido.")
    if end <= start:
        raise SportelloError(ErrorCode.INVALID_INPUT, "L'orario di fine deve seguire l'inizio.")
    if not 10 <= slot_minutes <= 240:
        raise SportelloError(
            ErrorCode.INVALID_INPUT, "La durata di un appuntamento va da 10 a 240 minuti."
        )
    desk = session.get(HelpDesk, desk_id)
    if desk is None or not desk.active:
        raise SportelloError(ErrorCode.NOT_FOUND, "Sportello non trovato.")
    for rule in rules_of(expert_id, session=session):
        if rule.weekday == weekday and rule.start_time < end and start < rule.end_time:
            raise SportelloError(
                ErrorCode.CONFLICT,
                f"Si sovrappone alla fascia di {WEEKDAY_LABELS[weekday]} "
                f"{rule.start_time:%H:%M}-{rule.end_time:%H:%M}.",
            )
    session.add(
        AvailabilityRule(
            expert_id=expert_id,
            desk_id=desk_id,
            weekday=weekday,
            start_time=start,
            end_time=end,
            slot_minutes=slot_minutes,
        )
    )
    session.flush()
    return refresh_slots(session=session, settings=settings, now=aware(now), expert_ids=[expert_id])


def delete_rule(
    expert_id: int,
    rule_id: int,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> SlotRefreshReport:
    """Remove a weekly opening; its free slots are withdrawn, booked ones reported."""
    rule = session.get(AvailabilityRule, rule_id)
    if rule is None or rule.expert_id != expert_id:
        raise SportelloError(ErrorCode.NOT_FOUND, "Fascia oraria non trovata.")
    session.delete(rule)
    session.flush()
    return refresh_slots(session=session, settings=settings, now=aware(now), expert_ids=[expert_id])


def add_absence(
    expert_id: int,
    *,
    session: Session,
    settings: Settings,
    first_day: date,
    last_day: date | None,
    reason: str = "",
    now: datetime,
) -> SlotRefreshReport:
    moment = aware(now)
    if (last_day or first_day) < moment.date():
        raise SportelloError(ErrorCode.INVALID_INPUT, "L'assenza è già passata.")
    return add_exception(
        session=session,
        settings=settings,
        first_day=first_day,
        last_day=last_day,
        expert_id=expert_id,
        reason=reason.strip()[:200],
        now=moment,
    )


def delete_absence(
    expert_id: int,
    absence_id: int,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> SlotRefreshReport:
    absence = session.get(AvailabilityException, absence_id)
    if absence is None or absence.expert_id != expert_id:
        raise SportelloError(ErrorCode.NOT_FOUND, "Assenza non trovata.")
    session.delete(absence)
    session.flush()
    return refresh_slots(session=session, settings=settings, now=aware(now), expert_ids=[expert_id])
