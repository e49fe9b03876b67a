"""Logging in and out (the transaction commits the failure counter before we answer)."""

from __future__ import annotations

from datetime import datetime

from sportello.accounts import service as accounts
from sportello.accounts.service import LoginOutcome
from sportello.desk import notifications
from sportello.errors import ErrorCode, SportelloError
from sportello.services import Services


def login(svc: Services, username: str, password: str) -> LoginOutcome:
    with svc.sessions.begin() as session:
        return accounts.login(
            session=session,
            settings=svc.settings,
            username=username,
            password=password,
            now=svc.clock.now(),
        )


def refusal(outcome: LoginOutcome, svc: Services) -> SportelloError:
    """The error to show for a failed login: a lock names its end, anything else is generic."""
    if outcome.locked_until is not None:
        return SportelloError(
            ErrorCode.TOO_MANY_ATTEMPTS,
            "Troppi tentativi non riusciti: l'account è bloccato fino a "
            f"{_until(outcome.locked_until, svc)}. Riprova più tardi o chiedi allo staff.",
        )
    return SportelloError(ErrorCode.UNAUTHORIZED, "Nome utente o password non validi.")


def _until(moment: datetime, svc: Services) -> str:
    from zoneinfo import ZoneInfo

    return notifications.when(moment, ZoneInfo(svc.settings.desk_timezone)).split(" alle ")[-1]


def logout(svc: Services, token: str) -> None:
    with svc.sessions.begin() as session:
        accounts.logout(session=session, token=token)


def landing(is_staff: bool) -> str:
    return "/admin" if is_staff else "/console"


def safe_next(value: str | None, default: str) -> str:
    """Only local paths: never redirect a login to another site."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default
