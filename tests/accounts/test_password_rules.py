"""New passwords: long enough, not among the common/breached ones, not the person's own name."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from sportello.accounts import service
from sportello.accounts.models import UserRole
from sportello.accounts.passwords import check_strength, common_passwords
from sportello.errors import SportelloError


def test_the_shipped_list_is_loaded() -> None:
    assert len(common_passwords()) > 15_000
    assert {"password", "1234567890", "juventus"} <= common_passwords()


@pytest.mark.parametrize(
    "password",
    [
        "1234567890",
        "password12",
        "Password2024!",
        "P4ssw0rd1234",
        "qwertyuiop",
        "aaaaaaaaaaaa",
        "9876543210",
        "juventus1897",
        "iloveyou2024",
    ],
)
def test_common_and_breached_passwords_are_refused(password: str) -> None:
    with pytest.raises(SportelloError) as caught:
        check_strength(password)
    assert "più usate" in caught.value.detail


@pytest.mark.parametrize("password", ["Anna.Rossi.2026", "xx-annarossi-xx", "rossi-sportello"])
def test_the_persons_own_name_is_refused(password: str) -> None:
    with pytest.raises(SportelloError) as caught:
        check_strength(password, ("annarossi", "Anna Rossi"))
    assert "nome" in caught.value.detail


def test_an_unusual_passphrase_passes() -> None:
    check_strength("cavallo batteria graffetta", ("annarossi", "Anna Rossi"))
    with pytest.raises(SportelloError, match="almeno 10"):
        check_strength("Tr4m0nt!")


def test_create_and_reset_apply_the_rules(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session, pytest.raises(SportelloError):
        service.create_user(
            session=session, username="beppe", password="password12", role=UserRole.STAFF
        )
    with sessions.begin() as session:
        service.create_user(
            session=session,
            username="beppe",
            password="scala-di-legno-verde",
            role=UserRole.STAFF,
            display_name="Giuseppe Verdi",
        )
    with sessions.begin() as session, pytest.raises(SportelloError, match="nome"):
        service.set_password(session=session, username="beppe", password="verdi-e-basta-2026")
