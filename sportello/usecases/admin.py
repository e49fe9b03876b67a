"""Staff's use cases for desks, experts and accounts: one transaction each, typed views out.

Shared by the web admin (pages and JSON API) and the CLI's rules: only staff may call them
(`require_staff`), the validation lives in desk/directory and accounts/management.
"""

from __future__ import annotations

from datetime import datetime, time

from pydantic import BaseModel

from sportello.accounts import management
from sportello.accounts import service as accounts
from sportello.accounts.service import Principal
from sportello.desk import directory, notifications, scheduling
from sportello.desk.models import Expert, HelpDesk
from sportello.desk.tickets import Actor
from sportello.errors import ErrorCode
from sportello.knowledge.documents import Topic
from sportello.services import Services
from sportello.usecases import views

DeskFields = directory.DeskFields
ExpertFields = directory.ExpertFields


class DeskView(BaseModel):
    id: int
    slug: str
    name: str
    kind: str
    address: str
    meeting_link: str
    opening_notes: str
    active: bool
    is_example: bool


class ExpertView(BaseModel):
    id: int
    slug: str
    name: str
    topics: list[str]
    topic_labels: list[str]
    contact: str
    telegram_chat_id: str
    email: str  # shown only; the e-mail settings have their own form
    desk_ids: list[int]
    active: bool
    is_example: bool


class ExpertPage(BaseModel):
    expert: ExpertView
    rules: list[views.RuleView]
    desks: list[DeskView]
    topics: list[tuple[str, str]]


class UserView(BaseModel):
    username: str
    display_name: str
    role: str
    expert_id: int | None
    expert_name: str | None
    active: bool
    locked_until: datetime | None


class AffectedView(BaseModel):
    booking_id: int
    ticket_code: str
    starts_at: datetime
    expert_name: str
    desk_name: str
    replacement: str | None


class ActiveChange(BaseModel):
    """The outcome of (de)activating: done, or the bookings staff must decide about first."""

    name: str
    active: bool
    done: bool
    message: str = ""
    affected: list[AffectedView] = []
    reassigned: int = 0
    cancelled: int = 0
    released_tickets: int = 0


class DemoRemovalView(BaseModel):
    desks: int
    experts: int
    cancelled_bookings: int
    deleted_bookings: int
    released_tickets: int


def require_staff(who: Principal) -> None:
    if not who.is_staff:
        raise directory.error(ErrorCode.FORBIDDEN, "staff_only")


def _actor(who: Principal) -> Actor:
    return Actor.staff(who.username)


def desk_view(desk: HelpDesk) -> DeskView:
    return DeskView(
        id=desk.id,
        slug=desk.slug,
        name=desk.name,
        kind=str(desk.kind),
        address=desk.address or "",
        meeting_link=desk.meeting_link or "",
        opening_notes=desk.opening_notes or "",
        active=desk.active,
        is_example=desk.is_example,
    )


def expert_view(expert: Expert, desk_ids: set[int] | None = None) -> ExpertView:
    return ExpertView(
        id=expert.id,
        slug=expert.slug,
        name=expert.name,
        topics=expert.topic_names,
        topic_labels=[notifications.topic_label(t) for t in expert.topic_names],
        contact=expert.contact or "",
        telegram_chat_id=expert.telegram_chat_id or "",
        email=expert.email or "",
        desk_ids=sorted(desk_ids or ()),
        active=expert.active,
        is_example=expert.is_example,
    )


def topic_choices() -> list[tuple[str, str]]:
    return [(t.value, notifications.topic_label(t.value)) for t in Topic]


# --- desks ---------------------------------------------------------------------------------------


def desks(svc: Services, who: Principal) -> list[DeskView]:
    require_staff(who)
    with svc.sessions.begin() as session:
        return [desk_view(d) for d in directory.list_desks(session)]


def desk(svc: Services, who: Principal, desk_id: int) -> DeskView:
    require_staff(who)
    with svc.sessions.begin() as session:
        return desk_view(directory.get_desk(session, desk_id))


def save_desk(
    svc: Services, who: Principal, fields: DeskFields, desk_id: int | None = None
) -> DeskView:
    require_staff(who)
    with svc.sessions.begin() as session:
        return desk_view(directory.save_desk(session, fields, desk_id))


def _change(report: directory.Deactivation, active: bool) -> ActiveChange:
    return ActiveChange(
        name=report.name,
        active=active,
        done=True,
        affected=[_affected(a) for a in report.affected],
        reassigned=report.reassigned,
        cancelled=report.cancelled,
        released_tickets=report.released_tickets,
    )


def _affected(a: directory.AffectedBooking) -> AffectedView:
    return AffectedView(
        booking_id=a.booking_id,
        ticket_code=a.ticket_code,
        starts_at=a.starts_at,
        expert_name=a.expert_name,
        desk_name=a.desk_name,
        replacement=a.replacement,
    )


def _needed(exc: directory.DecisionNeeded) -> ActiveChange:
    return ActiveChange(
        name=exc.name,
        active=True,
        done=False,
        message=exc.detail,
        affected=[_affected(a) for a in exc.affected],
    )


def set_active(
    svc: Services,
    who: Principal,
    kind: directory.Kind,
    item_id: int,
    active: bool,
    bookings: str = "ask",
) -> ActiveChange:
    """Activate a desk or expert, or deactivate it deciding about its future bookings (`ask`
    changes nothing and lists them)."""
    require_staff(who)
    how = directory.decision(bookings)
    now = svc.clock.now()
    try:
        with svc.sessions.begin() as session:
            if active:
                name = directory.activate(
                    kind, item_id, session=session, settings=svc.settings, now=now
                )
                return ActiveChange(name=name, active=True, done=True)
            report = directory.deactivate(
                kind,
                item_id,
                how,
                session=session,
                settings=svc.settings,
                now=now,
                actor=_actor(who),
            )
            return _change(report, False)
    except directory.DecisionNeeded as exc:  # rolled back: nothing changed
        return _needed(exc)


# --- experts -------------------------------------------------------------------------------------


def experts(svc: Services, who: Principal) -> list[ExpertView]:
    require_staff(who)
    with svc.sessions.begin() as session:
        at = directory.desk_ids_of_experts(session)
        return [expert_view(e, at.get(e.id)) for e in directory.list_experts(session)]


def expert_page(svc: Services, who: Principal, expert_id: int) -> ExpertPage:
    require_staff(who)
    with svc.sessions.begin() as session:
        expert = directory.get_expert(session, expert_id)
        all_desks = {d.id: d for d in directory.list_desks(session)}
        rules = scheduling.rules_of(expert_id, session=session)
        return ExpertPage(
            expert=expert_view(expert, {r.desk_id for r in rules}),
            rules=[views.rule(r, {d.id: d.name for d in all_desks.values()}) for r in rules],
            desks=[desk_view(d) for d in all_desks.values() if d.active],
            topics=topic_choices(),
        )


def save_expert(
    svc: Services, who: Principal, fields: ExpertFields, expert_id: int | None = None
) -> ExpertView:
    require_staff(who)
    with svc.sessions.begin() as session:
        expert = directory.save_expert(session, fields, expert_id)
        return expert_view(expert)


def add_rule(
    svc: Services,
    who: Principal,
    expert_id: int,
    *,
    desk_id: int,
    weekday: int,
    start: time,
    end: time,
    slot_minutes: int,
) -> None:
    """A weekly opening of the expert at a desk (the same rules as the expert's own form)."""
    require_staff(who)
    with svc.sessions.begin() as session:
        directory.get_expert(session, expert_id)
        scheduling.add_rule(
            expert_id,
            session=session,
            settings=svc.settings,
            now=svc.clock.now(),
            desk_id=desk_id,
            weekday=weekday,
            start=start,
            end=end,
            slot_minutes=slot_minutes,
        )


def delete_rule(svc: Services, who: Principal, expert_id: int, rule_id: int) -> None:
    require_staff(who)
    with svc.sessions.begin() as session:
        scheduling.delete_rule(
            expert_id, rule_id, session=session, settings=svc.settings, now=svc.clock.now()
        )


def remove_demo(svc: Services, who: Principal) -> DemoRemovalView:
    """Delete the demo desks and experts in one go (see desk/directory/demo.py)."""
    require_staff(who)
    with svc.sessions.begin() as session:
        done = directory.remove_demo(
            session=session, settings=svc.settings, now=svc.clock.now(), actor=_actor(who)
        )
    return DemoRemovalView(
        desks=done.desks,
        experts=done.experts,
        cancelled_bookings=done.cancelled_bookings,
        deleted_bookings=done.deleted_bookings,
        released_tickets=done.released_tickets,
    )


# --- accounts ------------------------------------------------------------------------------------


def users(svc: Services, who: Principal) -> list[UserView]:
    require_staff(who)
    with svc.sessions.begin() as session:
        names = {e.id: e.name for e in directory.list_experts(session)}
        return [
            UserView(
                username=u.username,
                display_name=u.display_name,
                role=str(u.role),
                expert_id=u.expert_id,
                expert_name=names.get(u.expert_id) if u.expert_id else None,
                active=u.active,
                locked_until=u.locked_until,
            )
            for u in accounts.list_users(session=session)
        ]


def set_user_active(svc: Services, who: Principal, username: str, active: bool) -> None:
    require_staff(who)
    with svc.sessions.begin() as session:
        management.set_active(
            session=session, username=username, active=active, acting=who.username
        )
        if active:
            accounts.unlock(session=session, username=username)


def set_user_role(
    svc: Services, who: Principal, username: str, role: str, expert_id: int | None
) -> None:
    require_staff(who)
    with svc.sessions.begin() as session:
        management.set_role(
            session=session, username=username, role=role, expert_id=expert_id, acting=who.username
        )


def reset_password(
    svc: Services, who: Principal, username: str, password: str, repeat: str
) -> None:
    require_staff(who)
    with svc.sessions.begin() as session:
        management.reset_password(
            session=session, username=username, password=password, repeat=repeat
        )
