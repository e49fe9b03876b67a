"""Desks, experts and weekly availability from a YAML file (`sportello desk seed-demo`).

Loading is idempotent: desks and experts are matched by `slug` and updated (one staff
deactivated stays inactive), an expert's topics and rules are replaced by the file's, identical
exceptions are not added twice, and the slots are then brought in line with the new rules.
Loading a real file (not `example: true`) removes the demo desks and experts.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import yaml
from pydantic import ValidationError
from sqlalchemy.orm import Session

from sportello.clock import aware
from sportello.config import Settings
from sportello.desk import queries
from sportello.desk.directory.demo import remove_demo
from sportello.desk.models import (
    AvailabilityException,
    AvailabilityRule,
    Expert,
    ExpertTopic,
    HelpDesk,
)
from sportello.desk.notifications.expert_mail import normalize_email
from sportello.desk.scheduling.slots import refresh_slots
from sportello.desk.schemas import SeedData, SeedReport
from sportello.desk.tickets.states import Actor
from sportello.errors import ErrorCode, SportelloError

DEMO_FILE = Path(__file__).resolve().with_name("demo_data.yaml")


def load_seed(path: Path = DEMO_FILE) -> SeedData:
    """Read and validate a desks/experts file; errors name the file and the bad entries."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SportelloError(ErrorCode.NOT_FOUND, f"File non leggibile: {path}") from exc
    except yaml.YAMLError as exc:
        raise SportelloError(ErrorCode.INVALID_INPUT, f"YAML non valido in {path}: {exc}") from exc
    try:
        return SeedData.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
        )
        message = f"{path.name} non valido: {problems}"
        raise SportelloError(ErrorCode.INVALID_INPUT, message) from exc


def apply_seed(
    data: SeedData,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
    if_empty: bool = False,
) -> SeedReport:
    """Create or update desks, experts, rules and exceptions from `data`, then the slots."""
    moment = aware(now)
    if if_empty and queries.count_desks(session) > 0:
        return SeedReport(skipped=True)
    report = SeedReport()
    desks: dict[str, HelpDesk] = {}
    for item in data.desks:
        # A desk staff deactivated stays so: a file load does not undo their decision.
        desk = queries.desk_by_slug(session, item.slug) or HelpDesk(slug=item.slug, active=True)
        desk.name, desk.kind, desk.address = item.name, item.kind, item.address
        desk.meeting_link, desk.opening_notes = item.meeting_link, item.opening_notes
        desk.is_example = data.example
        session.add(desk)
        desks[item.slug] = desk
        report.desks += 1
    session.flush()
    experts: dict[str, Expert] = {}
    for person in data.experts:
        expert = queries.expert_by_slug(session, person.slug) or Expert(
            slug=person.slug, active=True
        )
        expert.name, expert.contact = person.name, person.contact
        expert.telegram_chat_id, expert.is_example = person.telegram_chat_id, data.example
        if person.email:
            expert.email = normalize_email(person.email)
        expert.topics = [ExpertTopic(topic=str(t)) for t in dict.fromkeys(person.topics)]
        session.add(expert)
        session.flush()
        queries.delete_rules_of(session, expert.id)
        for rule in person.availability:
            session.add(
                AvailabilityRule(
                    expert_id=expert.id,
                    desk_id=desks[rule.desk].id,
                    weekday=rule.weekday,
                    start_time=rule.start,
                    end_time=rule.end,
                    slot_minutes=rule.slot_minutes,
                )
            )
            report.rules += 1
        experts[person.slug] = expert
        report.experts += 1
    session.flush()
    for closure in data.exceptions:
        exc = AvailabilityException(
            first_day=closure.first_day,
            last_day=closure.last_day or closure.first_day,
            reason=closure.reason,
            desk_id=_resolve(desks, closure.desk, "sportello"),
            expert_id=_resolve(experts, closure.expert, "esperto"),
        )
        if not queries.exception_exists(session, exc):
            session.add(exc)
            report.exceptions += 1
    session.flush()
    if not data.example:  # real data replaces the demo: see directory/demo.py for what goes
        removed = remove_demo(session=session, settings=settings, now=moment, actor=Actor.system())
        report.demo_desks_removed, report.demo_experts_removed = removed.desks, removed.experts
        report.demo_bookings_cancelled = removed.cancelled_bookings
        report.demo_tickets_released = removed.released_tickets
    report.slots = refresh_slots(session=session, settings=settings, now=moment)
    return report


def _resolve(
    known: dict[str, HelpDesk] | dict[str, Expert], slug: str | None, what: str
) -> int | None:
    if slug is None:
        return None
    if slug not in known:
        raise SportelloError(ErrorCode.INVALID_INPUT, f"Eccezione per {what} sconosciuto: {slug}")
    return known[slug].id
