"""Login and logout pages for experts and staff."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from sportello.accounts.service import Principal
from sportello.channels.web import security
from sportello.channels.web.operations import auth as ops
from sportello.channels.web.templating import page

router = APIRouter(include_in_schema=False)
Who = Depends(security.user_guard)


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    """Show the login form (or go straight on when already logged in)."""
    who = security.principal(request)
    if who is not None:
        return RedirectResponse(ops.safe_next(next, ops.landing(who.is_staff)), status_code=303)
    return _form(request, next=next)


def _form(
    request: Request, *, next: str = "", username: str = "", error: str = "", status: int = 200
) -> Response:
    token, cookie = security.login_csrf(request)
    response = page(
        request,
        "login.html",
        {"next": next, "username": username, "error": error},
        csrf=token,
        status=status,
    )
    if cookie:
        security.set_cookie(response, request, security.LOGIN_COOKIE, cookie, max_age=3600)
    return response


@router.post("/login")
async def login(
    request: Request,
    username: str = Form(..., max_length=100),
    password: str = Form(..., max_length=1000),
    next: str = Form(""),
) -> Response:
    """Check the password, open a server-side session and set its cookie."""
    await security.check_login_csrf(request)
    svc = security.services(request)
    outcome = await asyncio.to_thread(ops.login, svc, username, password)
    if not outcome.ok or outcome.principal is None or outcome.token is None:
        error = ops.refusal(outcome, svc)
        return _form(
            request, next=next, username=username, error=error.detail, status=error.code.status
        )
    target = ops.safe_next(next, ops.landing(outcome.principal.is_staff))
    response = RedirectResponse(target, status_code=303)
    security.set_cookie(
        response,
        request,
        security.SESSION_COOKIE,
        outcome.token,
        max_age=svc.settings.web_session_hours * 3600,
    )
    security.clear_cookie(response, request, security.LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, who: Principal = Who) -> Response:
    """End the session on the server, then forget the cookie."""
    ops.logout(security.services(request), request.cookies.get(security.SESSION_COOKIE, ""))
    response = RedirectResponse("/login?ok=logged_out", status_code=303)
    security.clear_cookie(response, request, security.SESSION_COOKIE)
    return response
