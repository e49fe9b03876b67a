"""Staff managing accounts (web admin and `sportello user …`): enable, disable, role, password.

The rules both edges share: nobody disables or demotes themselves, and the last active staff
account can be neither disabled nor demoted (someone must be able to run the admin).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sportello.accounts import queries, service
from sportello.accounts.models import User, UserRole
from sportello.desk import directory
from sportello.desk import queries as desk_queries
from sportello.errors import ErrorCode


def _keep_a_staff(session: Session, user: User, acting: str | None) -> None:
    """Refuse taking `user` out of the active staff if they act on themselves or are the last."""
    if acting is not None and acting.lower() == user.username.lower():
        raise directory.error(ErrorCode.FORBIDDEN, "not_yourself")
    if user.role != UserRole.STAFF or not user.active:
        return
    if queries.lock_active_staff_ids(session) == [user.id]:
        raise directory.error(ErrorCode.CONFLICT, "last_staff", username=user.username)


def set_active(*, session: Session, username: str, active: bool, acting: str | None = None) -> User:
    """Enable or disable an account; disabling ends its sessions at once."""
    user = service.get_user(session=session, username=username)
    if not active:
        _keep_a_staff(session, user, acting)
    return service.set_active(session=session, username=user.username, active=active)


def parse_role(value: str) -> UserRole:
    try:
        return UserRole(value.strip().lower())
    except ValueError:
        raise directory.error(ErrorCode.INVALID_INPUT, "role_unknown", value=value[:40]) from None


def set_role(
    *,
    session: Session,
    username: str,
    role: str,
    expert_id: int | None,
    acting: str | None = None,
) -> User:
    """Change the role and the linked desk expert (None: no expert); sessions end (new rights)."""
    user = service.get_user(session=session, username=username)
    new_role = parse_role(role)
    if user.role == UserRole.STAFF and new_role != UserRole.STAFF:
        _keep_a_staff(session, user, acting)
    if expert_id is not None and desk_queries.get_expert(session, expert_id) is None:
        raise directory.error(ErrorCode.NOT_FOUND, "expert_not_found", ref=expert_id)
    changed = user.role != new_role or user.expert_id != expert_id
    user.role, user.expert_id = new_role, expert_id
    if changed:
        queries.delete_sessions_of(session, user.id)
    session.flush()
    return user


def reset_password(*, session: Session, username: str, password: str, repeat: str) -> User:
    """A new password chosen by staff (same strength rules as everywhere); sessions end."""
    if password != repeat:
        raise directory.error(ErrorCode.INVALID_INPUT, "passwords_differ")
    return service.set_password(session=session, username=username, password=password)
