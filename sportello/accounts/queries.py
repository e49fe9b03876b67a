"""SQL of the accounts domain (the only place it runs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, joinedload

from sportello.accounts.models import User, UserRole, WebSession


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def session_by_id(session: Session, session_id: str) -> WebSession | None:
    return session.scalar(
        select(WebSession).where(WebSession.id == session_id).options(joinedload(WebSession.user))
    )


def delete_session(session: Session, session_id: str) -> int:
    result = session.execute(delete(WebSession).where(WebSession.id == session_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_sessions_of(session: Session, user_id: int) -> int:
    result = session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_expired_sessions(session: Session, now: datetime) -> int:
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]


def lock_active_staff_ids(session: Session) -> list[int]:
    """Ids of the active staff accounts, row-locked (in id order) until the transaction ends:
    two staff disabling each other at once cannot leave nobody to run the admin."""
    stmt = (
        select(User.id)
        .where(User.active.is_(True), User.role == UserRole.STAFF)
        .order_by(User.id)
        .with_for_update()
    )
    return list(session.scalars(stmt))
