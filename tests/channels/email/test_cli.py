"""`sportello desk expert-email`: set, show and remove an expert's address and preferences."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from sportello.cli import app
from sportello.config import Settings, get_settings
from tests.desk.factory import World

runner = CliRunner()


@pytest.fixture
def env(
    db_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    get_settings.cache_clear()
    yield {"SPORTELLO_DATA_DIR": str(db_settings.data_dir)}
    get_settings.cache_clear()


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    get_settings.cache_clear()
    result = runner.invoke(app, ["desk", "expert-email", *args], env=env)
    return result.exit_code, result.output


def test_set_show_remove(
    env: dict[str, str], sessions: sessionmaker[Session], world: World
) -> None:
    code, out = run(
        env,
        "fisco",
        "Anna@Studio.Example.IT",
        "--new-tickets",
        "digest",
        "--digest-hour",
        "7",
        "--no-messages",
        "--agenda",
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["email"] == "Anna@studio.example.it"
    assert (data["new_tickets"], data["digest_hour"]) == ("digest", 7)
    assert (data["bookings"], data["messages"], data["agenda"]) == (True, False, True)
    code, out = run(env, "fisco")  # show: nothing changes
    assert json.loads(out) == data
    code, out = run(env, "fisco", "--remove")
    assert json.loads(out)["email"] is None


def test_bad_address_is_refused_with_a_clear_message(
    env: dict[str, str], sessions: sessionmaker[Session], world: World
) -> None:
    code, out = run(env, "fisco", "anna@studio")
    assert code == 1
    assert "non è un indirizzo e-mail valido" in out
    code, out = run(env, "nessuno", "anna@studio.it")
    assert code == 1 and "Nessun esperto" in out
