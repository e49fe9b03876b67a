"""Log in and out through the API (the same server-side sessions as the pages)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from sportello.accounts.service import Principal
from sportello.channels.web import security
from sportello.channels.web.operations import auth as ops

router = APIRouter(prefix="/api/auth", tags=["auth"])
Who = Depends(security.user_guard)


class Credentials(BaseModel):
    username: str = Field(..., max_length=100)
    password: str = Field(..., max_length=1000)


class Me(BaseModel):
    username: str
    display_name: str
    role: str
    expert_id: int | None
    csrf_token: str
    expires_at: datetime


def _me(who: Principal) -> Me:
    return Me(
        username=who.username,
        display_name=who.display_name,
        role=str(who.role),
        expert_id=who.expert_id,
        csrf_token=who.csrf_token,
        expires_at=who.expires_at,
    )


@router.post("/login")
async def login(request: Request, body: Credentials, response: Response) -> Me:
    """Open a session; send the returned `csrf_token` as X-CSRF-Token on every change."""
    svc = security.services(request)
    outcome = await asyncio.to_thread(ops.login, svc, body.username, body.password)
    if not outcome.ok or outcome.principal is None or outcome.token is None:
        raise ops.refusal(outcome, svc)
    security.set_cookie(
        response,
        request,
        security.SESSION_COOKIE,
        outcome.token,
        max_age=svc.settings.web_session_hours * 3600,
    )
    return _me(outcome.principal)


@router.post("/logout")
def logout(request: Request, response: Response, who: Principal = Who) -> dict[str, bool]:
    """End the session on the server: the cookie stops working everywhere at once."""
    ops.logout(security.services(request), request.cookies.get(security.SESSION_COOKIE, ""))
    security.clear_cookie(response, request, security.SESSION_COOKIE)
    return {"ok": True}


@router.get("/me")
def me(who: Principal = Who) -> Me:
    """Who is logged in."""
    return _me(who)
