"""Desks, experts and accounts as JSON for staff: the same use cases as the admin pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sportello.accounts.service import Principal
from sportello.channels.web import security
from sportello.desk import directory
from sportello.usecases import admin as ops

router = APIRouter(
    prefix="/api/admin", tags=["admin"], dependencies=[Depends(security.staff_guard)]
)
Who = Depends(security.staff_guard)


class DeskIn(BaseModel):
    name: str = Field(..., max_length=2000)
    kind: str = Field("in_person", max_length=20, description="in_person | online")
    address: str = Field("", max_length=2000)
    meeting_link: str = Field("", max_length=2000)
    opening_notes: str = Field("", max_length=4000, description="Hours and notes people read")

    def fields(self) -> ops.DeskFields:
        return ops.DeskFields(**self.model_dump())


class ExpertIn(BaseModel):
    name: str = Field(..., max_length=2000)
    topics: list[str] = Field(..., max_length=20)
    contact: str = Field("", max_length=2000)
    telegram_chat_id: str = Field("", max_length=60)

    def fields(self) -> ops.ExpertFields:
        return ops.ExpertFields(**self.model_dump())


class ActiveIn(BaseModel):
    active: bool
    bookings: str = Field(
        "ask",
        max_length=20,
        description="Future bookings when deactivating: ask | reassign | cancel",
    )


class RoleIn(BaseModel):
    role: str = Field(..., max_length=20, description="expert | staff")
    expert_id: int | None = None


class PasswordIn(BaseModel):
    password: str = Field(..., max_length=200)
    repeat: str = Field(..., max_length=200)


def _change(change: ops.ActiveChange) -> ops.ActiveChange | JSONResponse:
    """409 with the bookings to decide about, or the change done."""
    if change.done:
        return change
    body = {"error": "decision_needed", "detail": change.message, **change.model_dump(mode="json")}
    return JSONResponse(body, status_code=409)


@router.get("/desks")
def desks(request: Request, who: Principal = Who) -> list[ops.DeskView]:
    """Every desk, active first."""
    return ops.desks(security.services(request), who)


@router.post("/desks", status_code=201)
def create_desk(request: Request, body: DeskIn, who: Principal = Who) -> ops.DeskView:
    """Add a desk (400 with the reason when a field is wrong)."""
    return ops.save_desk(security.services(request), who, body.fields())


@router.put("/desks/{desk_id}")
def update_desk(request: Request, desk_id: int, body: DeskIn, who: Principal = Who) -> ops.DeskView:
    return ops.save_desk(security.services(request), who, body.fields(), desk_id)


@router.post("/desks/{desk_id}/active", response_model=None)
def desk_active(
    request: Request, desk_id: int, body: ActiveIn, who: Principal = Who
) -> ops.ActiveChange | JSONResponse:
    """Activate or deactivate; 409 lists the future bookings when `bookings` is `ask`."""
    svc = security.services(request)
    return _change(
        ops.set_active(svc, who, directory.Kind.DESK, desk_id, body.active, body.bookings)
    )


@router.get("/experts")
def experts(request: Request, who: Principal = Who) -> list[ops.ExpertView]:
    """Every expert with topics, desks (from the weekly openings) and state."""
    return ops.experts(security.services(request), who)


@router.post("/experts", status_code=201)
def create_expert(request: Request, body: ExpertIn, who: Principal = Who) -> ops.ExpertView:
    return ops.save_expert(security.services(request), who, body.fields())


@router.put("/experts/{expert_id}")
def update_expert(
    request: Request, expert_id: int, body: ExpertIn, who: Principal = Who
) -> ops.ExpertView:
    return ops.save_expert(security.services(request), who, body.fields(), expert_id)


@router.post("/experts/{expert_id}/active", response_model=None)
def expert_active(
    request: Request, expert_id: int, body: ActiveIn, who: Principal = Who
) -> ops.ActiveChange | JSONResponse:
    """Activate or deactivate; 409 lists the future bookings when `bookings` is `ask`."""
    svc = security.services(request)
    return _change(
        ops.set_active(svc, who, directory.Kind.EXPERT, expert_id, body.active, body.bookings)
    )


@router.post("/demo/remove")
def remove_demo(request: Request, who: Principal = Who) -> ops.DemoRemovalView:
    """Delete the demo desks and experts (future demo bookings cancelled with a notice)."""
    return ops.remove_demo(security.services(request), who)


@router.get("/users")
def users(request: Request, who: Principal = Who) -> list[ops.UserView]:
    return ops.users(security.services(request), who)


@router.post("/users/{username}/active")
def user_active(
    request: Request, username: str, body: ActiveIn, who: Principal = Who
) -> dict[str, object]:
    ops.set_user_active(security.services(request), who, username, body.active)
    return {"username": username, "active": body.active}


@router.post("/users/{username}/role")
def user_role(
    request: Request, username: str, body: RoleIn, who: Principal = Who
) -> dict[str, object]:
    ops.set_user_role(security.services(request), who, username, body.role, body.expert_id)
    return {"username": username, "role": body.role, "expert_id": body.expert_id}


@router.post("/users/{username}/password")
def user_password(
    request: Request, username: str, body: PasswordIn, who: Principal = Who
) -> dict[str, str]:
    ops.reset_password(security.services(request), who, username, body.password, body.repeat)
    return {"username": username, "status": "password_reset"}
