"""The staff admin pages for desks, experts and accounts: parse the form, call the use case, render.

A rejected form is shown again with what was typed and the reason, so nothing is lost.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from sportello.accounts.service import Principal
from sportello.channels.web import security
from sportello.channels.web.templating import page
from sportello.desk import directory
from sportello.errors import SportelloError
from sportello.usecases import admin as ops

router = APIRouter(
    prefix="/admin", include_in_schema=False, dependencies=[Depends(security.staff_guard)]
)
Who = Depends(security.staff_guard)
Text = Annotated[str, Form(max_length=2000)]


def _back(url: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{url}?ok={notice}", status_code=303)


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """A page with the confirmation of the form that redirected here (fixed texts only)."""
    ok = request.query_params.get("ok", "")
    try:
        notice = directory.text(f"notice_{ok}") if ok.isidentifier() else ""
    except KeyError:
        notice = ""
    return page(request, name, {"notice": notice, **context}, status=status)


# --- desks ---------------------------------------------------------------------------------------


def _desks_page(
    request: Request, who: Principal, form: ops.DeskFields | None = None, error: str = ""
) -> Response:
    svc = security.services(request)
    rows = ops.desks(svc, who)
    experts = ops.experts(svc, who)
    return _page(
        request,
        "admin/desks.html",
        {
            "rows": rows,
            "form": form or ops.DeskFields(name=""),
            "error": error,
            "demo": sum(1 for r in rows if r.is_example) + sum(1 for e in experts if e.is_example),
        },
        status=400 if error else 200,
    )


@router.get("/desks")
def desks(request: Request, who: Principal = Who) -> Response:
    """Every desk (active first) and the form for a new one; demo data can be removed here."""
    return _desks_page(request, who)


def _desk_fields(
    name: str, kind: str, address: str, meeting_link: str, opening_notes: str
) -> ops.DeskFields:
    return ops.DeskFields(
        name=name,
        kind=kind,
        address=address,
        meeting_link=meeting_link,
        opening_notes=opening_notes,
    )


@router.post("/desks")
def create_desk(
    request: Request,
    name: Text = "",
    kind: Text = "in_person",
    address: Text = "",
    meeting_link: Text = "",
    opening_notes: Annotated[str, Form(max_length=4000)] = "",
    who: Principal = Who,
) -> Response:
    """Add a desk; a rejected form comes back filled in, with the reason."""
    fields = _desk_fields(name, kind, address, meeting_link, opening_notes)
    try:
        ops.save_desk(security.services(request), who, fields)
    except SportelloError as exc:
        return _desks_page(request, who, fields, exc.detail)
    return _back("/admin/desks", "desk_saved")


def _desk_form(
    request: Request, who: Principal, desk_id: int, form: ops.DeskFields | None, error: str
) -> Response:
    desk = ops.desk(security.services(request), who, desk_id)
    fields = form or ops.DeskFields(
        name=desk.name,
        kind=desk.kind,
        address=desk.address,
        meeting_link=desk.meeting_link,
        opening_notes=desk.opening_notes,
    )
    return _page(
        request,
        "admin/desk.html",
        {"desk": desk, "form": fields, "error": error},
        status=400 if error else 200,
    )


@router.get("/desks/{desk_id}")
def desk(request: Request, desk_id: int, who: Principal = Who) -> Response:
    """One desk's form: name, kind, address, online link, hours; activate or deactivate."""
    return _desk_form(request, who, desk_id, None, "")


@router.post("/desks/{desk_id}")
def save_desk(
    request: Request,
    desk_id: int,
    name: Text = "",
    kind: Text = "in_person",
    address: Text = "",
    meeting_link: Text = "",
    opening_notes: Annotated[str, Form(max_length=4000)] = "",
    who: Principal = Who,
) -> Response:
    fields = _desk_fields(name, kind, address, meeting_link, opening_notes)
    try:
        ops.save_desk(security.services(request), who, fields, desk_id)
    except SportelloError as exc:
        if exc.code.status == 404:
            raise
        return _desk_form(request, who, desk_id, fields, exc.detail)
    return _back(f"/admin/desks/{desk_id}", "desk_saved")


def _set_active(
    request: Request,
    who: Principal,
    kind: directory.Kind,
    item_id: int,
    active: bool,
    bookings: str,
) -> Response:
    """Done: back with a notice. Bookings in the way: the page that asks what to do."""
    change = ops.set_active(security.services(request), who, kind, item_id, active, bookings)
    back = f"/admin/{kind}s/{item_id}"
    if change.done:
        return _back(back, f"{kind}_{'on' if change.active else 'off'}")
    context = {"change": change, "action": f"{back}/active", "back": back}
    return _page(request, "admin/decide.html", context, status=409)


@router.post("/desks/{desk_id}/active")
def desk_active(
    request: Request,
    desk_id: int,
    active: bool = Form(...),
    bookings: str = Form("ask", max_length=20),
    who: Principal = Who,
) -> Response:
    """Activate or deactivate; with future bookings, ask what to do with them first."""
    return _set_active(request, who, directory.Kind.DESK, desk_id, active, bookings)


@router.post("/demo/remove")
def remove_demo(request: Request, who: Principal = Who) -> Response:
    """Delete the demo desks and experts in one action (future demo bookings: notified)."""
    ops.remove_demo(security.services(request), who)
    return _back("/admin/desks", "demo_removed")


# --- experts -------------------------------------------------------------------------------------


def _experts_page(
    request: Request, who: Principal, form: ops.ExpertFields | None = None, error: str = ""
) -> Response:
    svc = security.services(request)
    return _page(
        request,
        "admin/experts.html",
        {
            "rows": ops.experts(svc, who),
            "desks": {d.id: d for d in ops.desks(svc, who)},
            "form": form or ops.ExpertFields(name=""),
            "topics": ops.topic_choices(),
            "error": error,
        },
        status=400 if error else 200,
    )


@router.get("/experts")
def experts(request: Request, who: Principal = Who) -> Response:
    """Every expert with topics, desks and state; the form for a new one."""
    return _experts_page(request, who)


def _expert_fields(name: str, topics: list[str], contact: str, chat: str) -> ops.ExpertFields:
    return ops.ExpertFields(name=name, topics=topics, contact=contact, telegram_chat_id=chat)


@router.post("/experts")
def create_expert(
    request: Request,
    name: Text = "",
    topics: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006 - FastAPI's form list
    contact: Text = "",
    telegram_chat_id: Annotated[str, Form(max_length=60)] = "",
    who: Principal = Who,
) -> Response:
    fields = _expert_fields(name, topics, contact, telegram_chat_id)
    try:
        created = ops.save_expert(security.services(request), who, fields)
    except SportelloError as exc:
        return _experts_page(request, who, fields, exc.detail)
    return _back(f"/admin/experts/{created.id}", "expert_saved")


def _expert_form(
    request: Request, who: Principal, expert_id: int, form: ops.ExpertFields | None, error: str
) -> Response:
    view = ops.expert_page(security.services(request), who, expert_id)
    e = view.expert
    fields = form or _expert_fields(e.name, e.topics, e.contact, e.telegram_chat_id)
    return _page(
        request,
        "admin/expert.html",
        {"view": view, "form": fields, "error": error},
        status=400 if error else 200,
    )


@router.get("/experts/{expert_id}")
def expert(request: Request, expert_id: int, who: Principal = Who) -> Response:
    """One expert: name, topics, contact, Telegram chat, weekly openings at the desks, state."""
    return _expert_form(request, who, expert_id, None, "")


@router.post("/experts/{expert_id}")
def save_expert(
    request: Request,
    expert_id: int,
    name: Text = "",
    topics: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006 - FastAPI's form list
    contact: Text = "",
    telegram_chat_id: Annotated[str, Form(max_length=60)] = "",
    who: Principal = Who,
) -> Response:
    fields = _expert_fields(name, topics, contact, telegram_chat_id)
    try:
        ops.save_expert(security.services(request), who, fields, expert_id)
    except SportelloError as exc:
        if exc.code.status == 404:
            raise
        return _expert_form(request, who, expert_id, fields, exc.detail)
    return _back(f"/admin/experts/{expert_id}", "expert_saved")


@router.post("/experts/{expert_id}/active")
def expert_active(
    request: Request,
    expert_id: int,
    active: bool = Form(...),
    bookings: str = Form("ask", max_length=20),
    who: Principal = Who,
) -> Response:
    """Activate or deactivate; with future bookings, ask what to do with them first."""
    return _set_active(request, who, directory.Kind.EXPERT, expert_id, active, bookings)


@router.post("/experts/{expert_id}/rules")
def add_rule(
    request: Request,
    expert_id: int,
    start: Annotated[time, Form()],
    end: Annotated[time, Form()],
    desk_id: int = Form(...),
    weekday: int = Form(..., ge=0, le=6),
    slot_minutes: int = Form(30, ge=10, le=240),
    who: Principal = Who,
) -> Response:
    """A weekly opening of the expert at a desk."""
    ops.add_rule(
        security.services(request),
        who,
        expert_id,
        desk_id=desk_id,
        weekday=weekday,
        start=start,
        end=end,
        slot_minutes=slot_minutes,
    )
    return _back(f"/admin/experts/{expert_id}", "rule_added")


@router.post("/experts/{expert_id}/rules/{rule_id}/delete")
def delete_rule(request: Request, expert_id: int, rule_id: int, who: Principal = Who) -> Response:
    ops.delete_rule(security.services(request), who, expert_id, rule_id)
    return _back(f"/admin/experts/{expert_id}", "rule_deleted")


# --- accounts ------------------------------------------------------------------------------------


@router.get("/users")
def users(request: Request, who: Principal = Who) -> Response:
    """Accounts: role, linked expert, state; enable/disable, change role, reset the password."""
    svc = security.services(request)
    return _page(
        request,
        "admin/users.html",
        {"rows": ops.users(svc, who), "experts": ops.experts(svc, who), "me": who.username},
    )


@router.post("/users/{username}/active")
def user_active(
    request: Request, username: str, active: bool = Form(...), who: Principal = Who
) -> Response:
    ops.set_user_active(security.services(request), who, username, active)
    return _back("/admin/users", "user_on" if active else "user_off")


@router.post("/users/{username}/role")
def user_role(
    request: Request,
    username: str,
    role: str = Form(..., max_length=20),
    expert_id: str = Form("", max_length=20),
    who: Principal = Who,
) -> Response:
    linked = int(expert_id) if expert_id.isdigit() else None
    ops.set_user_role(security.services(request), who, username, role, linked)
    return _back("/admin/users", "user_role")


@router.post("/users/{username}/password")
def user_password(
    request: Request,
    username: str,
    password: str = Form(..., max_length=200),
    repeat: str = Form(..., max_length=200),
    who: Principal = Who,
) -> Response:
    ops.reset_password(security.services(request), who, username, password, repeat)
    return _back("/admin/users", "user_password")
