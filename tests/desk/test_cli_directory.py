"""`sportello desk remove-demo | deactivate | activate | desks | experts` and `user role|disable`:
the admin's rules from the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from sportello.accounts import service as accounts
from sportello.accounts.models import UserRole
from sportello.cli import app
from sportello.cli.common import clock
from sportello.config import Settings, get_settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.desk import scheduling
from sportello.desk.models import Booking, Expert, OutboxKind
from tests.desk.factory import open_ticket, outbox
from tests.desk.test_cli_seed import cli_env, invoke  # noqa: F401 - the fixture

runner = CliRunner()
REAL = """
desks:
  - {slug: fermo, name: Sportello di Fermo, kind: in_person, address: "Corso Cavour 1, Fermo"}
experts:
  - slug: giulia
    name: Giulia Rossi
    topics: [fiscale]
    availability: [{desk: fermo, weekday: 0, start: "09:00", end: "12:00"}]
"""


def refused(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    get_settings.cache_clear()
    result = runner.invoke(app, list(args), env=env, input=stdin)
    assert result.exit_code == 1, result.output
    return result.output


def book_with_luca(settings: Settings) -> int:
    """A volunteer books the demo fiscal expert (at the CLI's own clock)."""
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine).begin() as s:
            now = clock(settings).now()
            luca = s.scalars(select(Expert).where(Expert.slug == "luca-bianchi")).one()
            ticket = open_ticket(s, settings, now=now, ref="chat-demo")
            offer = scheduling.offer_slots(
                "fiscale", session=s, settings=settings, now=now, expert_id=luca.id
            )[0]
            return scheduling.book(
                ticket.id, offer.slot_id, session=s, settings=settings, now=now
            ).id
    finally:
        engine.dispose()


def test_remove_demo_asks_then_removes_and_notifies(
    cli_env: dict[str, str],  # noqa: F811
    db_settings: Settings,
) -> None:
    invoke(cli_env, "desk", "seed-demo")
    booking_id = book_with_luca(db_settings)
    ask = refused(cli_env, "desk", "deactivate", "expert", "luca-bianchi")
    assert "appuntamenti in programma (1)" in ask and "--bookings cancel" in ask
    assert "nessun sostituto libero" in ask or "Elena Galli" in ask  # the other fiscal expert
    assert "Nessuna modifica" in refused(cli_env, "desk", "remove-demo", stdin="n\n")
    desks = json.loads(invoke(cli_env, "desk", "desks", "--json"))
    assert len(desks) == 3 and all(d["demo"] and d["active"] for d in desks)
    out = invoke(cli_env, "desk", "remove-demo", "--yes")
    assert "Eliminati 3 sportelli e 6 esperti dimostrativi; 1 appuntamenti futuri annullati" in out
    assert json.loads(invoke(cli_env, "desk", "desks", "--json")) == []
    assert json.loads(invoke(cli_env, "desk", "experts", "--json")) == []
    assert "Nessun dato dimostrativo" in invoke(cli_env, "desk", "remove-demo", "--yes")
    engine = make_engine(db_settings)
    try:
        with make_sessionmaker(engine).begin() as s:
            assert s.get(Booking, booking_id) is None  # demo bookings go with the demo
            notices = [m for m in outbox(s) if m.kind == OutboxKind.CANCELLATION]
            assert any("appuntamento di prova" in m.body for m in notices)
    finally:
        engine.dispose()


def test_loading_a_real_file_replaces_the_demo(
    cli_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    invoke(cli_env, "desk", "seed-demo")
    real = tmp_path / "sportelli.yaml"
    real.write_text(REAL, encoding="utf-8")
    out = invoke(cli_env, "desk", "seed-demo", "--file", str(real))
    assert "Rimossi i dati dimostrativi: 3 sportelli, 6 esperti" in out
    experts = json.loads(invoke(cli_env, "desk", "experts", "--json"))
    assert [(e["slug"], e["demo"]) for e in experts] == [("giulia", False)]
    assert "Disattivato «Giulia Rossi»" in invoke(cli_env, "desk", "deactivate", "expert", "giulia")
    assert json.loads(invoke(cli_env, "desk", "slots", "--topic", "fiscale", "--json")) == []
    assert "è già disattivato" in refused(cli_env, "desk", "deactivate", "expert", "giulia")
    assert "Nessun esperto con codice nessuno" in refused(
        cli_env, "desk", "activate", "expert", "nessuno"
    )
    assert "Scelta sconosciuta «forse»" in refused(
        cli_env, "desk", "deactivate", "desk", "fermo", "--bookings", "forse"
    )
    invoke(cli_env, "desk", "activate", "expert", "giulia")
    assert json.loads(invoke(cli_env, "desk", "slots", "--topic", "fiscale", "--json"))


def test_the_last_staff_account_stays(
    cli_env: dict[str, str],  # noqa: F811
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        for name, role in (("anna", UserRole.STAFF), ("luca", UserRole.EXPERT)):
            accounts.create_user(
                session=s, username=name, password="una-frase-lunga-da-ricordare", role=role
            )
    assert "ultimo account dello staff attivo" in refused(cli_env, "user", "disable", "anna")
    assert "ultimo account dello staff attivo" in refused(cli_env, "user", "role", "anna", "expert")
    assert "Ruolo sconosciuto «capo»" in refused(cli_env, "user", "role", "luca", "capo")
    invoke(cli_env, "user", "role", "luca", "staff")
    invoke(cli_env, "user", "disable", "anna")
    rows = {r["username"]: r for r in json.loads(invoke(cli_env, "user", "list", "--json"))}
    assert (rows["anna"]["active"], rows["luca"]["role"]) == (False, "staff")
