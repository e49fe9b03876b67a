"""The operator's commands: tickets exported as CSV with transcripts, `user enable`, a person's
data exported or erased by ticket code or Telegram id (requests by e-mail or phone)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from sportello.accounts import service as accounts
from sportello.accounts.models import UserRole
from sportello.cli import app
from sportello.config import get_settings
from sportello.conversations.models import Channel, Conversation, Message, Role
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import upgrade
from sportello.desk.models import Ticket
from tests.conftest import make_settings
from tests.desk.factory import build_world, open_ticket

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.chdir(tmp_path)
    settings = make_settings(tmp_path)
    engine = make_engine(settings)
    upgrade(engine)
    with make_sessionmaker(engine).begin() as session:
        build_world(session)
        conv = Conversation(channel=Channel.TELEGRAM, external_ref="4242")
        session.add(conv)
        session.flush()
        session.add_all(
            [
                Message(conversation_id=conv.id, role=Role.USER, text="Ciao, sono Gino Rossi."),
                Message(conversation_id=conv.id, role=Role.ASSISTANT, text="Ti passo un esperto."),
            ]
        )
        ticket = open_ticket(session, settings, ref="4242")
        ticket.conversation_id = conv.id
        accounts.create_user(
            session=session,
            username="anna",
            password="scala-di-legno-verde",
            role=UserRole.STAFF,
        )
    engine.dispose()
    get_settings.cache_clear()
    yield {"SPORTELLO_DATA_DIR": str(settings.data_dir)}
    get_settings.cache_clear()


def invoke(env: dict[str, str], *args: str, input: str | None = None) -> str:
    get_settings.cache_clear()
    result = runner.invoke(app, list(args), env=env, input=input)
    assert result.exit_code == 0, result.output
    return result.output


def test_tickets_export_csv_with_transcripts(env: dict[str, str]) -> None:
    rows = list(csv.DictReader(io.StringIO(invoke(env, "desk", "tickets", "--export", "csv"))))
    assert len(rows) == 1 and rows[0]["code"].startswith("SPT-")
    assert "Gino Rossi" in rows[0]["transcript"] and "Ti passo un esperto" in rows[0]["transcript"]


def test_user_enable_undoes_disable(env: dict[str, str]) -> None:
    # The last active staff account can never be disabled: a second one first.
    invoke(
        env,
        "user",
        "add",
        "bruno",
        "--role",
        "staff",
        "--password-stdin",
        input="Vi0la-Marche-2026\n",
    )
    invoke(env, "user", "disable", "anna")
    assert "Riattivato anna" in invoke(env, "user", "enable", "anna")
    users = json.loads(invoke(env, "user", "list", "--json"))
    assert [u.get("active") for u in users if u["username"] == "anna"] == [True]


def test_person_export_and_erase_by_ticket_code_or_telegram_id(
    env: dict[str, str], tmp_path: Path
) -> None:
    by_telegram = json.loads(invoke(env, "person", "export", "--telegram", "4242"))
    assert by_telegram["tickets"][0]["code"].startswith("SPT-")
    code = by_telegram["tickets"][0]["code"]
    by_ticket = json.loads(invoke(env, "person", "export", "--ticket", code.lower()))
    assert by_ticket == by_telegram
    texts = [m["text"] for c in by_ticket["conversations"] for m in c["messages"]]
    assert "Ciao, sono Gino Rossi." in texts
    out = invoke(env, "person", "erase", "--ticket", code, input="y\n")
    assert "Cancellate 1 conversazioni" in out
    engine = make_engine(make_settings(tmp_path))
    with make_sessionmaker(engine).begin() as session:
        assert session.scalars(select(Conversation)).first() is None
        assert "Gino" not in session.scalars(select(Ticket)).one().summary
    engine.dispose()
    empty = json.loads(invoke(env, "person", "export", "--telegram", "4242"))
    assert empty["conversations"] == []


def test_kb_list_shows_overdue_reviews(env: dict[str, str], tmp_path: Path) -> None:
    from datetime import date

    from sportello.knowledge.models import KbDocument

    engine = make_engine(make_settings(tmp_path))
    with make_sessionmaker(engine).begin() as session:
        for doc_id, reviewed in (("fresca", date(2100, 1, 1)), ("vecchia", date(2024, 1, 10))):
            session.add(
                KbDocument(
                    id=doc_id,
                    path=str(tmp_path / f"{doc_id}.md"),
                    title=doc_id.capitalize(),
                    topic="fiscale",
                    format="md",
                    sources=[],
                    reviewed=reviewed,
                    content_hash="x",
                    chunk_count=1,
                    status="active",
                )
            )
    engine.dispose()
    # The CLI runs on the real clock: "fresca" is dated far ahead so it never turns overdue.
    listed = {d["id"]: d["overdue"] for d in json.loads(invoke(env, "kb", "list", "--json"))}
    assert listed == {"fresca": False, "vecchia": True}
    table = invoke(env, "kb", "list")
    assert "da rivedere" in table and "1 documenti da rivedere" in table
    only = json.loads(invoke(env, "kb", "list", "--overdue", "--json"))
    assert [d["id"] for d in only] == ["vecchia"]
