"""6. The app killed with SIGKILL in the middle of hand-overs, then started again.

A real uvicorn server (the compose command) serves three volunteers: one has just booked, one
is at the confirmation step, one got an expert's written reply and a closure. The web outbox
is held back (its loop runs at start, then every five minutes), so their messages are still queued
when the process group is killed. One row is left as a crash between "sent" and "marked"
leaves it: claimed, its notice already in the thread. After the restart everything is there,
the hand-over resumes at its step, and each queued message shows in its thread exactly once —
also after a second kill and restart.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.conversations import reading
from sportello.conversations.models import Conversation, Message, Role
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.desk.models import (
    Booking,
    BookingStatus,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketStatus,
)
from sportello.knowledge.embeddings import Embedder
from tests.channels.web.conftest import PASSWORD
from tests.conftest import create_pg_database, drop_pg_database
from tests.trust.conftest import Cases
from tests.trust.servers import (
    Browser,
    Instance,
    kill,
    prepare,
    server_clock,
    staff_login,
    wait_until,
)

pytestmark = [pytest.mark.trust("faults"), pytest.mark.slow]
CASES = {
    "alice": "Siamo la APS Girasole di Fermo: ci serve aiuto con il 5 per mille.",
    "bob": "Siamo la ODV Gabbiano di Grottammare: dubbi sulla dichiarazione del 5 per mille.",
    "carol": "Siamo il circolo Quercia di Offida: chiediamo un parere sul 5 per mille.",
}
REPLY = "Potete iscrivervi al 5 per mille dall'area riservata del RUNTS."


def web_rows(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with sessions.begin() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.channel == "web")
                .order_by(OutboxMessage.id)
            )
        )


def shown(sessions: sessionmaker[Session], row: OutboxMessage) -> int:
    """How many times the queued message is in the person's thread: a notice for desk
    messages; an expert's reply is in the thread already (stored with the reply itself)."""
    if row.kind == "expert_reply":
        role, text = Role.EXPERT, row.body.split(":\n\n", 1)[1]
    else:
        role, text = Role.SYSTEM, row.body
    with sessions.begin() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.text == text, Message.role == role)
            )
            or 0
        )


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_mid_handover_loses_nothing_and_repeats_nothing(
    backend: str,
    indexed_template: Path,
    tmp_path: Path,
    embedder: Embedder,
    cases: Cases,
) -> None:
    url = create_pg_database() if backend == "postgresql" else ""
    try:
        instance = prepare(
            indexed_template,
            tmp_path,
            embedder,
            database_url=url,
            SPORTELLO_WEB_POLL_SECONDS="300",
        )
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, data_dir=tmp_path / "data", database_url=url
        )
        engine = make_engine(settings)
        sessions = make_sessionmaker(engine)
        try:
            run(instance, sessions, cases)
        finally:
            engine.dispose()
    finally:
        if url:
            drop_pg_database(url)


def run(instance: Instance, sessions: sessionmaker[Session], cases: Cases) -> None:
    with instance.serve("first") as (base, proc):
        alice, bob, carol = Browser(base), Browser(base), Browser(base)
        alice.to_confirm(CASES["alice"])
        booked = alice.ok("/api/chat/handover/choose", {"key": "confirm:yes"})
        assert booked["step"] == "done" and booked["booking_id"], booked
        bob_step = bob.to_confirm(CASES["bob"])
        carol.ok("/api/chat/handover/start", {"topic": "fiscale"})
        carol.ok("/api/chat/handover/choose", {"key": "topic:yes"})
        carol.ok("/api/chat/messages", {"text": CASES["carol"]})
        written = carol.ok("/api/chat/handover/choose", {"key": "mode:written"})
        expert, token = staff_login(base, instance.people.expert, PASSWORD)
        queue = expert.get("/api/console/tickets").json()["tickets"]
        carol_ticket = next(t for t in queue if t["code"] == written["ticket_code"])["id"]
        for path, body in (
            ("claim", {}),
            ("reply", {"text": REPLY}),
            ("close", {"outcome": "Risposto per iscritto."}),
        ):
            response = expert.post(
                f"/api/console/tickets/{carol_ticket}/{path}",
                json=body,
                headers={"X-CSRF-Token": token},
            )
            assert response.status_code == 200, response.text
        queued = [r for r in web_rows(sessions) if r.status == OutboxStatus.PENDING]
        assert {r.kind for r in queued} >= {"confirmation", "expert_reply", "closed"}, queued
        kill(proc)  # mid hand-over: Bob is at the confirmation step

    # A crash between "sent" and "marked": the notice is in the thread, the row is claimed.
    with sessions.begin() as session:
        row = session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.channel == "web", OutboxMessage.kind == "confirmation"
            )
        )
        assert row is not None
        conversation = session.scalar(
            select(Conversation)
            .join(Ticket, Ticket.conversation_id == Conversation.id)
            .where(Ticket.code == booked["ticket_code"])
        )
        assert conversation is not None
        reading.record_notice(
            session=session, conversation=conversation, key=row.idempotency_key, text=row.body
        )
        row.status = OutboxStatus.SENDING
        row.claim_token, row.attempts = "crashed-worker", 1
        row.claimed_until = server_clock().now() - timedelta(
            seconds=1
        )  # the lease ran out meanwhile

    # Nothing was lost by the kill.
    with sessions.begin() as session:
        tickets = {t.code: t for t in session.scalars(select(Ticket))}
        assert tickets[booked["ticket_code"]].status == TicketStatus.SCHEDULED
        assert tickets[written["ticket_code"]].status == TicketStatus.CLOSED
        assert session.get(Booking, booked["booking_id"]).status == BookingStatus.ACTIVE  # type: ignore[union-attr]
        assert session.scalar(select(func.count()).select_from(Conversation)) == 3
    expected = [r for r in web_rows(sessions) if r.status != OutboxStatus.SENT]
    assert len(expected) >= 3

    for name in ("second", "third"):  # start again, and once more after another kill
        with instance.serve(name) as (base, proc):
            wait_until(
                lambda: all(r.status == OutboxStatus.SENT for r in web_rows(sessions)), within=60
            )
            for row in web_rows(sessions):
                cases.add()
                assert shown(sessions, row) == 1, (row.kind, row.body[:80])
            for browser in (alice, bob, carol):
                browser.http.base_url = base  # type: ignore[assignment]
            # The hand-over resumes where it was: Bob confirms the slot he had picked.
            state = bob.http.get("/api/chat").json()["state"]
            if name == "second":
                assert state["handover"]["step"] == "confirm", state["handover"]
                assert state["handover"]["text"] == bob_step["text"]
                done = bob.ok("/api/chat/handover/choose", {"key": "confirm:yes"})
                assert done["step"] == "done" and done["booking_id"], done
            else:
                assert state["handover"] is None and state["appointments"]
            thread = carol.http.get("/api/chat/messages").json()["messages"]
            assert [m["text"] for m in thread].count(REPLY) == 1
            assert alice.http.get("/api/chat").json()["state"]["appointments"]
            kill(proc)
    for browser in (alice, bob, carol):
        browser.close()
    # No message text or name in the server's logs (INFO, JSON lines).
    logs = "".join(instance.log(n) for n in ("first", "second", "third"))
    assert "Girasole" not in logs and "Gabbiano" not in logs and REPLY not in logs
