"""Accounts: Argon2id hashes, sessions that logout really ends, lock-out, CLI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from sportello.accounts import service
from sportello.accounts.models import User, UserRole, WebSession
from sportello.config import Settings, get_settings
from sportello.errors import ErrorCode, SportelloError
from tests.conftest import NOW

PASSWORD = "una-password-lunga"


def add(
    sessions: sessionmaker[Session], username: str = "anna", role: UserRole = UserRole.STAFF
) -> None:
    with sessions.begin() as session:
        service.create_user(session=session, username=username, password=PASSWORD, role=role)


def login(
    sessions: sessionmaker[Session], settings: Settings, password: str = PASSWORD, **kw: object
) -> service.LoginOutcome:
    with sessions.begin() as session:
        kw.setdefault("now", NOW)
        return service.login(
            session=session, settings=settings, username="anna", password=password, **kw
        )  # type: ignore[arg-type]


def test_password_is_stored_as_argon2id(sessions: sessionmaker[Session]) -> None:
    add(sessions)
    with sessions.begin() as session:
        user = session.scalar(select(User))
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_usernames_and_passwords_are_checked(sessions: sessionmaker[Session]) -> None:
    add(sessions)
    with sessions.begin() as session:
        with pytest.raises(SportelloError) as dup:
            service.create_user(
                session=session, username="ANNA", password=PASSWORD, role=UserRole.STAFF
            )
        assert dup.value.code == ErrorCode.CONFLICT
        with pytest.raises(SportelloError) as weak:
            service.create_user(
                session=session, username="bruno", password="corta", role=UserRole.EXPERT
            )
        assert weak.value.code == ErrorCode.INVALID_INPUT
        with pytest.raises(SportelloError):
            service.create_user(
                session=session, username="../x", password=PASSWORD, role=UserRole.EXPERT
            )
        with pytest.raises(SportelloError) as missing:
            service.create_user(
                session=session,
                username="carla",
                password=PASSWORD,
                role=UserRole.EXPERT,
                expert_id=4242,
            )
        assert missing.value.code == ErrorCode.NOT_FOUND


def test_login_session_and_logout(sessions: sessionmaker[Session], settings: Settings) -> None:
    add(sessions)
    outcome = login(sessions, settings)
    assert outcome.ok and outcome.token and outcome.principal
    assert outcome.principal.role == UserRole.STAFF
    with sessions.begin() as session:
        stored = session.scalar(select(WebSession))
        assert stored is not None and stored.id != outcome.token  # only the hash is stored
        who = service.resolve(session=session, token=outcome.token, now=NOW)
        assert who is not None and who.username == "anna"
        assert service.logout(session=session, token=outcome.token)
    with sessions.begin() as session:
        assert service.resolve(session=session, token=outcome.token, now=NOW) is None


def test_session_expires(sessions: sessionmaker[Session], settings: Settings) -> None:
    add(sessions)
    outcome = login(sessions, settings)
    assert outcome.token
    later = NOW + timedelta(hours=settings.web_session_hours, minutes=1)
    with sessions.begin() as session:
        assert service.resolve(session=session, token=outcome.token, now=later) is None
        assert session.scalar(select(WebSession)) is None  # the expired row is gone


def test_lock_out_after_repeated_failures(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    add(sessions)
    now = NOW
    for attempt in range(1, settings.web_login_max_failures):
        outcome = login(sessions, settings, "sbagliata", now=now)
        assert not outcome.ok and outcome.locked_until is None, attempt
    locked = login(sessions, settings, "sbagliata", now=now)
    assert locked.locked_until is not None
    # While locked even the right password is refused…
    assert not login(sessions, settings, now=now + timedelta(minutes=1)).ok
    # …and after the lock it works again, the counter reset.
    later = now + timedelta(minutes=settings.web_login_lockout_minutes, seconds=1)
    assert login(sessions, settings, now=later).ok
    with sessions.begin() as session:
        user = session.scalar(select(User))
        assert user is not None and user.failed_logins == 0 and user.locked_until is None


def test_a_success_resets_the_counter(sessions: sessionmaker[Session], settings: Settings) -> None:
    add(sessions)
    for _ in range(settings.web_login_max_failures - 1):
        login(sessions, settings, "sbagliata")
    assert login(sessions, settings).ok
    for _ in range(settings.web_login_max_failures - 1):
        assert login(sessions, settings, "sbagliata").locked_until is None


def test_unknown_and_disabled_users(sessions: sessionmaker[Session], settings: Settings) -> None:
    add(sessions)
    with sessions.begin() as session:
        nobody = service.login(
            session=session,
            settings=settings,
            username="zorro",
            password=PASSWORD,
            now=NOW,
        )
        assert not nobody.ok and nobody.locked_until is None
    token = login(sessions, settings).token
    assert token
    with sessions.begin() as session:
        service.set_active(session=session, username="anna", active=False)
    with sessions.begin() as session:
        assert service.resolve(session=session, token=token, now=NOW) is None
    assert not login(sessions, settings).ok


def test_new_password_ends_every_session(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    add(sessions)
    first, second = login(sessions, settings).token, login(sessions, settings).token
    with sessions.begin() as session:
        service.set_password(session=session, username="anna", password="nuova-password-lunga")
    with sessions.begin() as session:
        assert service.resolve(session=session, token=first or "", now=NOW) is None
        assert service.resolve(session=session, token=second or "", now=NOW) is None
    assert login(sessions, settings, "nuova-password-lunga").ok


def test_cli_user_add_list_unlock(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    from sportello.cli import app

    data = Path(str(tmp_path)) / "data"
    monkeypatch.setenv("SPORTELLO_DATA_DIR", str(data))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        done = runner.invoke(
            app,
            ["user", "add", "anna", "--role", "staff", "--password-stdin"],
            input=PASSWORD + "\n",
        )
        assert done.exit_code == 0, done.output
        again = runner.invoke(
            app,
            ["user", "add", "anna", "--role", "staff", "--password-stdin"],
            input=PASSWORD + "\n",
        )
        assert again.exit_code == 1 and "esiste già" in again.output
        unknown = runner.invoke(
            app,
            [
                "user",
                "add",
                "bruno",
                "--role",
                "expert",
                "--expert-id",
                "nessuno",
                "--password-stdin",
            ],
            input=PASSWORD + "\n",
        )
        assert unknown.exit_code == 1
        listed = runner.invoke(app, ["user", "list", "--json"])
        assert listed.exit_code == 0 and '"anna"' in listed.output and "bruno" not in listed.output
        assert runner.invoke(app, ["user", "unlock", "anna"]).exit_code == 0
    finally:
        get_settings.cache_clear()
