"""Account rules: create users, log in with lock-out, open, resolve and close web sessions.

Every function takes the caller's `session` and never commits. `login` does not raise on a
wrong password: it returns the outcome, so the caller can commit the failure counter first.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sportello.accounts import passwords, queries
from sportello.accounts.models import User, UserRole, WebSession
from sportello.config import Settings
from sportello.desk.models import Expert
from sportello.errors import ErrorCode, SportelloError

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")
# A session is touched at most this often, so reading a page does not always write.
TOUCH_EVERY = timedelta(minutes=5)


@dataclass(frozen=True)
class Principal:
    """Who is logged in, as the web edge sees it (no ORM object leaves the transaction)."""

    user_id: int
    username: str
    display_name: str
    role: UserRole
    expert_id: int | None
    session_id: str
    csrf_token: str
    expires_at: datetime

    @property
    def is_staff(self) -> bool:
        return self.role == UserRole.STAFF

    @property
    def is_expert(self) -> bool:
        return self.role == UserRole.EXPERT


@dataclass(frozen=True)
class LoginOutcome:
    """`token` is set on success; otherwise `locked_until` tells whether the account is locked."""

    token: str | None = None
    principal: Principal | None = None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.token is not None


def token_id(token: str) -> str:
    """What the database stores for a cookie token: its SHA-256, so a leaked table opens nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    *,
    session: Session,
    username: str,
    password: str,
    role: UserRole,
    display_name: str | None = None,
    expert_id: int | None = None,
) -> User:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise SportelloError(ErrorCode.INVALID_INPUT, "bad_username")
    if queries.user_by_username(session, username) is not None:
        raise SportelloError(ErrorCode.CONFLICT, "user_exists", username=username)
    passwords.check_strength(password, (username, display_name))
    if expert_id is not None:
        expert = session.get(Expert, expert_id)
        if expert is None:
            raise SportelloError(ErrorCode.NOT_FOUND, "no_expert_with_id", expert_id=expert_id)
    user = User(
        username=username,
        display_name=(display_name or username).strip(),
        role=UserRole(role),
        expert_id=expert_id,
        password_hash=passwords.hash_password(password),
        active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return user


def get_user(*, session: Session, username: str) -> User:
    user = queries.user_by_username(session, username.strip())
    if user is None:
        raise SportelloError(ErrorCode.NOT_FOUND, "no_user", username=username)
    return user


def list_users(*, session: Session) -> list[User]:
    return queries.list_users(session)


def set_password(*, session: Session, username: str, password: str) -> User:
    """A new password logs the user out everywhere and lifts any lock."""
    user = get_user(session=session, username=username)
    passwords.check_strength(password, (user.username, user.display_name))
    user.password_hash = passwords.hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    queries.delete_sessions_of(session, user.id)
    return user


def unlock(*, session: Session, username: str) -> User:
    user = get_user(session=session, username=username)
    user.failed_logins, user.locked_until = 0, None
    return user


def set_active(*, session: Session, username: str, active: bool) -> User:
    user = get_user(session=session, username=username)
    user.active = active
    if not active:
        queries.delete_sessions_of(session, user.id)
    return user


def _principal(user: User, row: WebSession) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=UserRole(user.role),
        expert_id=user.expert_id,
        session_id=row.id,
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
    )


def login(
    *,
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    now: datetime,
) -> LoginOutcome:
    """Check the password; count failures and lock the account after too many in a row.

    A locked account refuses even the right password until the lock expires, so guessing
    cannot go on in the background. Unknown names cost the same time as wrong passwords.
    """
    moment = now
    user = queries.user_by_username(session, username.strip())
    if user is None or not user.active:
        passwords.verify(None, password)
        return LoginOutcome()
    if user.locked_until is not None and user.locked_until > moment:
        passwords.verify(None, password)
        return LoginOutcome(locked_until=user.locked_until)
    if not passwords.verify(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= settings.web_login_max_failures:
            user.failed_logins = 0
            user.locked_until = moment + timedelta(minutes=settings.web_login_lockout_minutes)
            return LoginOutcome(locked_until=user.locked_until)
        return LoginOutcome()
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, moment
    queries.delete_expired_sessions(session, moment)
    token = secrets.token_urlsafe(32)
    row = WebSession(
        id=token_id(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=moment,
        last_seen_at=moment,
        expires_at=moment + timedelta(hours=settings.web_session_hours),
    )
    session.add(row)
    session.flush()
    return LoginOutcome(token=token, principal=_principal(user, row))


def resolve(*, session: Session, token: str, now: datetime) -> Principal | None:
    """The principal behind a session cookie, or None (unknown, expired, logged out, disabled)."""
    if not token or len(token) > 200:
        return None
    moment = now
    row = queries.session_by_id(session, token_id(token))
    if row is None:
        return None
    if row.expires_at <= moment or not row.user.active:
        session.delete(row)
        return None
    if moment - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = moment
    return _principal(row.user, row)


def logout(*, session: Session, token: str) -> bool:
    """Delete the server-side session: the cookie is worthless from now on."""
    return bool(token) and queries.delete_session(session, token_id(token)) > 0
