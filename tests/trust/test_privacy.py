"""7. Privacy (GDPR): erasure leaves no trace of the person in any table, tickets stay
anonymised for the statistics; old conversations are purged; nothing personal is logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from sportello.app import create_app
from sportello.channels.web.delivery import deliver_now
from sportello.cli import app as cli
from sportello.clock import SystemClock
from sportello.config import Settings, get_settings
from sportello.conversations import service as conversations
from sportello.conversations.models import Channel, Conversation, Message, Role
from sportello.desk import tickets
from sportello.desk.models import (
    Booking,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketNote,
    TicketStatus,
)
from sportello.desk.tickets import notes
from sportello.knowledge.embeddings import Embedder
from sportello.logging_setup import JsonFormatter
from sportello.privacy import erasure
from sportello.privacy.retention import PURGED, purge_expired
from tests.channels.web.conftest import Web, build_web, login, open_chat
from tests.channels.web.test_chat import LUCAS_DESK, ask, choose, slot_at
from tests.conftest import NOW, create_pg_database, drop_pg_database
from tests.desk.factory import World, build_world
from tests.trust.conftest import Cases

pytestmark = pytest.mark.trust("privacy")

NAME = "Giuseppina Canarino"
EMAIL = "giuseppina.canarino@example.org"
PHONE = "3339876543"
TAX_CODE = "CNRGPP80A41A462X"
CASE = f"Sono {NAME} ({EMAIL}, {PHONE}), presidente di una APS: ci serve aiuto col 5 per mille."


def rows_with(engine: Engine, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every stored value that contains one of `needles`."""
    metadata = MetaData()
    metadata.reflect(engine)
    found = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    found += [(table.name, str(column), n) for n in needles if n in text]
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def any_web(
    request: pytest.FixtureRequest, indexed_template: Path, tmp_path: Path, embedder: Embedder
) -> Iterator[Web]:
    url = create_pg_database() if request.param == "postgresql" else ""
    try:
        instance = build_web(
            indexed_template, tmp_path, embedder, **({"database_url": url} if url else {})
        )
        yield instance
        instance.services.engine.dispose()
    finally:
        if url:
            drop_pg_database(url)


def test_erasure_leaves_nothing_of_the_person_anywhere(any_web: Web, cases: Cases) -> None:
    web = any_web
    client = web.client()
    csrf = open_chat(client)
    ask(
        client,
        csrf,
        f"Mi chiamo {NAME}, codice fiscale {TAX_CODE}: come si iscrive un ente al RUNTS?",
    )
    reply_id = client.get("/api/chat/messages").json()["messages"][-1]["id"]
    client.post(
        f"/api/chat/messages/{reply_id}/feedback",
        json={"value": -1},
        headers={"X-CSRF-Token": csrf},
    )
    client.post(
        "/api/chat/handover/start",
        json={"topic": "fiscale", "appointment": True},
        headers={"X-CSRF-Token": csrf},
    )
    choose(client, csrf, "topic:yes")
    slots = ask(client, csrf, CASE)["handover"]
    choose(client, csrf, slot_at(slots, LUCAS_DESK)["key"])  # the "luca" account's slot
    done = choose(client, csrf, "confirm:yes")
    with web.services.sessions.begin() as session:
        ref = session.scalar(select(Ticket.volunteer_ref).where(Ticket.code == done["ticket_code"]))
    assert ref and ref.startswith("web:")
    # The expert writes about her: a note, a cancelled appointment's reason, a reply.
    expert = web.client()
    token = login(expert, web.people.expert)
    ticket_id = expert.get("/api/console/tickets").json()["tickets"][0]["id"]
    for path, body in (
        (f"/api/console/tickets/{ticket_id}/notes", {"text": f"Richiamare {NAME} al {PHONE}."}),
        (f"/api/console/bookings/{done['booking_id']}/cancel", {"reason": f"{NAME} è malata"}),
        (f"/api/console/tickets/{ticket_id}/reply", {"text": f"Gentile {NAME}, ecco la risposta."}),
    ):
        response = expert.post(path, json=body, headers={"X-CSRF-Token": token})
        assert response.status_code == 200, (path, response.text)
    deliver_now(web.services)  # the desk's messages reach her thread
    needles = [NAME.split()[1], EMAIL, PHONE, TAX_CODE, ref]
    assert {t for t, _, _ in rows_with(web.services.engine, needles)} >= {
        "messages",
        "tickets",
        "ticket_notes",
        "bookings",
        "conversations",
    }

    erased = client.delete("/api/chat", headers={"X-CSRF-Token": csrf})
    assert erased.status_code == 200 and erased.json()["conversations"] == 1
    leftovers = rows_with(web.services.engine, needles)
    cases.add(len(needles))
    assert leftovers == [], leftovers
    # The ticket and its appointment stay, anonymised, for the statistics.
    with web.services.sessions.begin() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.code == done["ticket_code"]))
        assert ticket is not None and ticket.summary == erasure.ERASED
        assert ticket.volunteer_ref is None and ticket.conversation_id is None
        # Answered by the expert, it stays open for them to close (only unanswered tickets
        # are cancelled by an erasure).
        assert ticket.topic == "fiscale" and ticket.status == TicketStatus.ANSWERED
        assert session.scalar(select(func.count()).select_from(Booking)) == 1
        assert session.scalar(select(func.count()).select_from(Conversation)) == 0
    # The erased browser starts from nothing.
    assert client.get("/api/chat").json()["state"]["messages"] == []


# --- retention ------------------------------------------------------------------------------------


def _conversation(
    session: Session, ref: str, *, days_ago: int, text: str = "Domanda sul RUNTS."
) -> Conversation:
    at = NOW - timedelta(days=days_ago)
    conversation = conversations.start(session=session, channel=Channel.WEB, external_ref=ref)
    conversation.created_at = conversation.updated_at = at
    session.add(
        Message(
            conversation_id=conversation.id, role=Role.USER, text=text, citations=[], created_at=at
        )
    )
    session.flush()
    return conversation


def _ticket(
    session: Session, settings: Settings, conversation: Conversation, world: World, *, close: bool
) -> Ticket:
    ticket = tickets.open_ticket(
        conversation,
        "fiscale",
        f"Caso di {NAME}",
        session=session,
        settings=settings,
        now=NOW,
    )
    notes.add_note(ticket.id, "Luca", f"Richiamare {NAME}", session=session, now=NOW)
    if close:
        tickets.claim(ticket.id, world.fiscal, session=session, now=NOW)
        tickets.reply(ticket.id, world.fiscal, f"Gentile {NAME}, ecco.", session=session, now=NOW)
        tickets.close(ticket.id, "Risolto", session=session, settings=settings, now=NOW)
    return ticket


def test_retention_purges_old_conversations_and_keeps_the_rest(
    sessions: sessionmaker[Session], db_settings: Settings, engine: Engine, cases: Cases
) -> None:
    settings = db_settings.model_copy(update={"retention_days": 365})
    with sessions.begin() as session:
        world = build_world(session)
        old = _conversation(session, "old", days_ago=400, text=f"Sono {NAME}")
        old_closed = _conversation(session, "old-closed", days_ago=400)
        closed = _ticket(session, settings, old_closed, world, close=True)
        old_open = _conversation(session, "old-open", days_ago=400)
        _ticket(session, settings, old_open, world, close=False)
        recent = _conversation(session, "recent", days_ago=10)
        revived = _conversation(session, "revived", days_ago=400)
        session.add(
            Message(conversation_id=revived.id, role=Role.USER, text="Di nuovo.", citations=[])
        )
        ids = {"old": old.id, "old_closed": old_closed.id, "old_open": old_open.id}
        long_ago = NOW - timedelta(days=400)
        session.flush()
        session.execute(  # the expert's reply and the notices were written long ago too
            update(Message)
            .where(Message.conversation_id.in_(list(ids.values())))
            .values(created_at=long_ago)
        )
        session.execute(  # its desk messages went out long ago
            update(OutboxMessage)
            .where(OutboxMessage.ticket_id == closed.id)
            .values(status=OutboxStatus.SENT, sent_at=long_ago)
        )
        session.execute(
            update(Conversation)
            .where(Conversation.id.in_(list(ids.values())))
            .values(updated_at=long_ago)
        )
        keep = {old_open.id, recent.id, revived.id}
        closed_id = closed.id
    with sessions.begin() as session:
        done = purge_expired(session=session, settings=settings, now=NOW)
    cases.add(5)
    assert (done.conversations, done.tickets) == (2, 1), done
    with sessions.begin() as session:
        left = set(session.scalars(select(Conversation.id)))
        assert left == keep and not {ids["old"], ids["old_closed"]} & left
        ticket = session.get(Ticket, closed_id)
        assert ticket is not None and ticket.summary == PURGED and ticket.volunteer_ref is None
        assert ticket.conversation_id is None and ticket.status == TicketStatus.CLOSED
        closed_rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.ticket_id == closed_id)
        ).all()
        assert closed_rows and all(NAME not in r.body for r in closed_rows)
        notes_left = session.scalars(
            select(TicketNote.text).where(TicketNote.ticket_id == closed_id)
        )
        assert list(notes_left) == [PURGED]
    # Only the open ticket (its conversation is still in use) and its messages quote her.
    hits = rows_with(engine, [NAME])
    assert {t for t, _, _ in hits} == {"tickets", "ticket_notes", "outbox"}, hits
    with sessions.begin() as session:  # 0 keeps everything
        assert (
            purge_expired(
                session=session,
                settings=settings.model_copy(update={"retention_days": 0}),
                now=NOW,
            ).conversations
            == 0
        )


def test_retention_runs_in_the_app_and_from_the_command_line(
    indexed_template: Path, tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = build_web(indexed_template, tmp_path, embedder, retention_days=30)
    with web.services.sessions.begin() as session:
        _conversation(session, "web:old-1", days_ago=40)
        _conversation(session, "web:old-2", days_ago=31)
        _conversation(session, "web:new", days_ago=29)

    def count() -> int:
        with web.services.sessions.begin() as session:
            return int(session.scalar(select(func.count()).select_from(Conversation)) or 0)

    # `sportello conversations purge` (cron), dry run first.
    monkeypatch.chdir(tmp_path)
    env = {
        "SPORTELLO_DATA_DIR": str(web.settings.data_dir),
        "SPORTELLO_RETENTION_DAYS": "35",
        # The command runs on the real clock: shift it to the instant the data was written at.
        "SPORTELLO_CLOCK_OFFSET": str((NOW - SystemClock().now()).total_seconds()),
    }
    get_settings.cache_clear()
    try:
        dry = CliRunner().invoke(cli, ["conversations", "purge", "--dry-run"], env=env)
        assert dry.exit_code == 0 and "Da cancellare: 1 conversazioni" in dry.output, dry.output
        assert count() == 3
        real = CliRunner().invoke(cli, ["conversations", "purge"], env=env)
        assert real.exit_code == 0 and "Cancellate: 1 conversazioni" in real.output, real.output
        assert count() == 2
    finally:
        get_settings.cache_clear()
    # The web app purges at start (then every few hours) with its own setting (30 days).
    app = create_app(web.settings, web.services)
    import asyncio

    async def start_and_stop() -> None:
        async with app.router.lifespan_context(app):
            for _ in range(100):
                if count() == 1:
                    break
                await asyncio.sleep(0.05)

    asyncio.run(start_and_stop())
    assert count() == 1
    web.services.engine.dispose()


# --- logs ---------------------------------------------------------------------------------------


def personal(records: list[logging.LogRecord], needles: list[str]) -> list[str]:
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in records if r.levelno >= logging.INFO]
    return [f"{n!r} in {line[:200]}" for line in lines for n in needles if n in line]


def test_no_personal_data_in_the_logs_at_info(
    web: Web, caplog: pytest.LogCaptureFixture, cases: Cases
) -> None:
    caplog.set_level(logging.INFO)
    client = web.client()
    csrf = open_chat(client)
    ask(
        client,
        csrf,
        f"Mi chiamo {NAME}, codice fiscale {TAX_CODE}: come si iscrive un ente al RUNTS?",
    )
    client.post(
        "/api/chat/messages",
        json={"text": f"Sono {NAME}, email {EMAIL}"},
        headers={"X-CSRF-Token": csrf, "Accept": "text/event-stream"},
    )
    client.post(
        "/api/chat/handover/start",
        json={"topic": "fiscale", "appointment": True},
        headers={"X-CSRF-Token": csrf},
    )
    choose(client, csrf, "topic:yes")
    slots = ask(client, csrf, CASE)["handover"]
    choose(client, csrf, next(c for c in slots["choices"] if c["kind"] == "slot")["key"])
    done = choose(client, csrf, "confirm:yes")
    assert done["step"] == "done"
    ask(client, csrf, f"Grazie, il mio telefono è {PHONE}")  # relayed to the expert
    expert = web.client()
    token = login(expert, web.people.expert)
    ticket_id = expert.get("/api/console/tickets").json()["tickets"][0]["id"]
    expert.post(
        f"/api/console/tickets/{ticket_id}/reply",
        json={"text": f"Gentile {NAME}, ok."},
        headers={"X-CSRF-Token": token},
    )
    deliver_now(web.services)
    client.delete("/api/chat", headers={"X-CSRF-Token": csrf})
    cookie = client.cookies.get("sportello_chat") or ""
    needles = [NAME.split()[1], EMAIL, PHONE, TAX_CODE, "5 per mille", "RUNTS?"]
    needles += [cookie] if cookie else []
    cases.add(len(caplog.records))
    assert caplog.records, "nothing was logged at all"
    assert personal(caplog.records, needles) == []
