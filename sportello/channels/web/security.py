"""Cookies, the logged-in principal, role checks and CSRF tokens of the web channel.

Two identities travel in cookies, both HttpOnly and SameSite=Lax (Secure over HTTPS):
`sportello_session` for staff and experts (a server-side session, so logout really ends it)
and `sportello_chat` for an anonymous volunteer's browser. The database only ever sees
hashes of either token.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response

from sportello.accounts import service as accounts
from sportello.accounts.models import UserRole
from sportello.accounts.service import Principal
from sportello.config import Settings
from sportello.conversations.models import Channel
from sportello.errors import ErrorCode, SportelloError
from sportello.services import Services
from sportello.usecases import limits
from sportello.usecases.results import Volunteer

SESSION_COOKIE = "sportello_session"
CHAT_COOKIE = "sportello_chat"
CHAT_AS_COOKIE = "sportello_chat_as"  # this browser shows another browser's chat (mailed link)
LOGIN_COOKIE = "sportello_login"  # double-submit CSRF token of the login form
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def is_secure(request: Request, settings: Settings) -> bool:
    if settings.web_cookie_secure == "always":
        return True
    if settings.web_cookie_secure == "never":
        return False
    return request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=is_secure(request, services(request).settings),
        path="/",
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name,
        httponly=True,
        samesite="lax",
        secure=is_secure(request, services(request).settings),
        path="/",
    )


def _digest(purpose: str, token: str) -> str:
    return hashlib.sha256(f"{purpose}:{token}".encode()).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


# --- staff and experts ---------------------------------------------------------------------


def principal(request: Request) -> Principal | None:
    """Who is logged in on this request (looked up once per request)."""
    if hasattr(request.state, "principal"):
        found: Principal | None = request.state.principal
        return found
    token = request.cookies.get(SESSION_COOKIE, "")
    found = None
    if token:
        with services(request).sessions.begin() as session:
            found = accounts.resolve(
                session=session, token=token, now=services(request).clock.now()
            )
    request.state.principal = found
    return found


def require_user(request: Request) -> Principal:
    """Any logged-in account."""
    return _require(request)


def _require(request: Request, *roles: UserRole) -> Principal:
    """The logged-in principal, if it has one of `roles` (any role when none given)."""
    who = principal(request)
    if who is None:
        raise SportelloError(ErrorCode.UNAUTHORIZED, "login_required")
    if roles and who.role not in roles:
        raise SportelloError(ErrorCode.FORBIDDEN, "role_forbidden")
    return who


def console_user(request: Request) -> Principal:
    """Experts and staff: the experts' console."""
    return _require(request, UserRole.EXPERT, UserRole.STAFF)


def staff_user(request: Request) -> Principal:
    """Staff only: the knowledge-base admin and the dashboard."""
    return _require(request, UserRole.STAFF)


async def submitted_csrf(request: Request) -> str | None:
    """The CSRF token of a request: the X-CSRF-Token header, or the form's csrf_token field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached by Starlette: the endpoint reads it again for free
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def check_user_csrf(who: Principal, submitted: str | None) -> None:
    if not same(submitted, who.csrf_token):
        raise SportelloError(ErrorCode.FORBIDDEN, "form_expired")


async def console_guard(
    request: Request, who: Annotated[Principal, Depends(console_user)]
) -> Principal:
    """Router guard of the console: the right role, and a CSRF token on every change."""
    if request.method in UNSAFE_METHODS:
        check_user_csrf(who, await submitted_csrf(request))
    return who


async def staff_guard(
    request: Request, who: Annotated[Principal, Depends(staff_user)]
) -> Principal:
    """Router guard of the admin: staff only, and a CSRF token on every change."""
    if request.method in UNSAFE_METHODS:
        check_user_csrf(who, await submitted_csrf(request))
    return who


async def user_guard(
    request: Request, who: Annotated[Principal, Depends(require_user)]
) -> Principal:
    """Any logged-in account (logout, `me`), with CSRF on changes."""
    if request.method in UNSAFE_METHODS:
        check_user_csrf(who, await submitted_csrf(request))
    return who


# --- login form (no session yet) -----------------------------------------------------------


def login_csrf(request: Request) -> tuple[str, str | None]:
    """(token for the form, new cookie value or None when the browser already has one)."""
    value = request.cookies.get(LOGIN_COOKIE)
    if value and 20 <= len(value) <= 100:
        return _digest("login", value), None
    value = secrets.token_urlsafe(32)
    return _digest("login", value), value


async def check_login_csrf(request: Request) -> None:
    value = request.cookies.get(LOGIN_COOKIE, "")
    if not value or not same(await submitted_csrf(request), _digest("login", value)):
        raise SportelloError(ErrorCode.FORBIDDEN, "form_expired")


# --- anonymous volunteers --------------------------------------------------------------------


def chat_token(request: Request) -> str | None:
    value = request.cookies.get(CHAT_COOKIE)
    return value if value and 20 <= len(value) <= 100 else None


def new_chat_token() -> str:
    return secrets.token_urlsafe(32)


def volunteer_ref(token: str) -> str:
    """What conversations and tickets store for a browser: a hash, not the cookie itself."""
    return "web:" + _digest("ref", token)


def chat_csrf(token: str) -> str:
    return _digest("csrf", token)


def _alias_mac(settings: Settings, owner_ref: str, token: str) -> str:
    key = settings.email_link_secret.get_secret_value().encode()
    message = f"chat-as:{owner_ref}:{volunteer_ref(token)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def alias_value(settings: Settings, owner_ref: str, token: str) -> str:
    """The cookie that lets this browser (its chat `token`) show `owner_ref`'s chat: signed and
    tied to the browser's own chat cookie, so copying it alone to another browser opens nothing."""
    return f"{owner_ref}~{_alias_mac(settings, owner_ref, token)}"


def chat_ref(request: Request, token: str) -> str:
    """Whose chat this browser shows: its own, or the one a mailed link bound it to."""
    raw = request.cookies.get(CHAT_AS_COOKIE, "")
    settings = services(request).settings
    if raw and settings.email_link_secret.get_secret_value():
        owner, _, mac = raw.rpartition("~")
        if owner and same(mac, _alias_mac(settings, owner, token)):
            return owner
    return volunteer_ref(token)


async def volunteer_guard(request: Request) -> str:
    """The browser's reference for its own conversation; changes need the chat's CSRF token
    and count against the rate limit (every message, vote and button, as on Telegram).

    A request without the cookie is refused rather than given a new one: minting cookies only
    on a page view means a forged cross-site request cannot replace someone's conversation.
    """
    ref = await message_guard(request)
    if request.method in UNSAFE_METHODS:
        who = Volunteer(Channel.WEB, ref)
        await asyncio.to_thread(limits.admit, services(request), who, ip=admission(request).ip)
    return ref


async def message_guard(request: Request) -> str:
    """`volunteer_guard` for a route that hands the message to a use case counting it in its
    own transaction (`admission(request)`): the same checks, no separate count."""
    token = chat_token(request)
    if token is None:
        raise SportelloError(ErrorCode.FORBIDDEN, "chat_session_missing")
    if request.method in UNSAFE_METHODS and not same(
        await submitted_csrf(request), chat_csrf(token)
    ):
        raise SportelloError(ErrorCode.FORBIDDEN, "form_expired")
    return chat_ref(request, token)


def admission(request: Request) -> limits.Admission:
    """What the rate limit counts a web message against: the browser and its address."""
    return limits.Admission(ip=request.client.host if request.client else None)
