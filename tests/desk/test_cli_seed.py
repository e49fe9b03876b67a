"""`sportello desk seed-demo | slots | tickets` through Typer, on a temporary data folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from sportello.cli import app
from sportello.config import Settings, get_settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.desk.models import DeskKind, Expert, HelpDesk
from sportello.desk.seed import DEMO_FILE, load_seed
from sportello.knowledge.documents import Topic

runner = CliRunner()


@pytest.fixture
def cli_env(
    db_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {
        "SPORTELLO_DATA_DIR": str(db_settings.data_dir),
        "SPORTELLO_DATABASE_URL": db_settings.database_url,
    }
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def invoke(env: dict[str, str], *args: str) -> str:
    get_settings.cache_clear()
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_file_is_marked_example_data() -> None:
    data = load_seed(DEMO_FILE)
    text = DEMO_FILE.read_text(encoding="utf-8")
    assert data.example and "DATI DIMOSTRATIVI" in text
    assert [d.kind for d in data.desks].count(DeskKind.IN_PERSON) == 2
    assert any("Ascoli Piceno" in (d.address or "") for d in data.desks)
    assert any("San Benedetto del Tronto" in (d.address or "") for d in data.desks)
    assert any(d.kind == DeskKind.ONLINE for d in data.desks)
    assert len(data.experts) == 6
    assert all(e.contact.endswith("@example.org") and "(esempio)" in e.name for e in data.experts)
    assert {t for e in data.experts for t in e.topics} == set(Topic)


def test_seed_demo_then_slots_and_tickets(cli_env: dict[str, str], db_settings: Settings) -> None:
    out = invoke(cli_env, "desk", "seed-demo")
    assert "Caricati 3 sportelli, 6 esperti" in out and "DATI DIMOSTRATIVI" in out
    assert "nessun dato caricato" in invoke(cli_env, "desk", "seed-demo", "--if-empty")
    # Loading again updates in place: still 3 desks and 6 experts.
    invoke(cli_env, "desk", "seed-demo")
    engine = make_engine(db_settings)
    try:
        with make_sessionmaker(engine).begin() as s:
            desks = list(s.scalars(select(HelpDesk)))
            assert len(desks) == 3 and all(d.is_example for d in desks)
            assert len(list(s.scalars(select(Expert)))) == 6
    finally:
        engine.dispose()

    offers = json.loads(invoke(cli_env, "desk", "slots", "--topic", "crowdfunding", "--json"))
    assert offers and {o["expert_name"] for o in offers} == {"Marco Ferri (esempio)"}
    table = invoke(cli_env, "desk", "slots", "--limit", "3")
    assert "esempio" in table
    assert json.loads(invoke(cli_env, "desk", "tickets", "--json")) == []
    assert "Nessuna richiesta" in invoke(cli_env, "desk", "tickets")
    assert "Promemoria messi in coda: 0" in invoke(cli_env, "desk", "remind")


def test_seed_errors_are_readable(cli_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "desks: [{slug: a, name: A, kind: in_person}]\n"
        "experts: [{slug: x, name: X, topics: [fiscale], availability: "
        "[{desk: b, weekday: lunedì, start: '09:00', end: '10:00'}]}]\n",
        encoding="utf-8",
    )
    get_settings.cache_clear()
    result = runner.invoke(app, ["desk", "seed-demo", "--file", str(bad)], env=cli_env)
    assert result.exit_code == 1
    assert "sportello sconosciuto" in result.output
    missing = runner.invoke(app, ["desk", "seed-demo", "--file", "nope.yaml"], env=cli_env)
    assert missing.exit_code == 1 and "File non leggibile" in missing.output
