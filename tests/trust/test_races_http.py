"""5. Races through the HTTP API, on PostgreSQL, against a real server (two uvicorn workers).

Many browsers confirm the same slot at the same instant: exactly one gets the appointment.
The hand-over API is a conversation, not a bare booking call: a loser is not answered with an
error page but with the next step of their conversation, status 200, which carries the
apology ("appena stato prenotato da un'altra persona") and fresh slots to choose from — the
same contract the booking service gives as 409 `slot_taken` with `alternatives`
(tests/desk/test_race.py covers that service-level race with 200 bookers). Many experts claim
one ticket at once: one 200, every other a 409 JSON `conflict`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from sportello.accounts import service as accounts
from sportello.accounts.models import UserRole
from sportello.config import Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.desk.models import Booking, BookingStatus, Ticket, TicketStatus
from sportello.knowledge.embeddings import Embedder
from tests.channels.web.conftest import PASSWORD
from tests.conftest import create_pg_database, drop_pg_database
from tests.desk.factory import add_expert, open_ticket
from tests.trust.conftest import Cases
from tests.trust.servers import Browser, Instance, prepare, server_clock, staff_login

pytestmark = [pytest.mark.trust("races"), pytest.mark.postgres, pytest.mark.slow]
BROWSERS = 30
EXPERTS = 16
ROUNDS = 3
SLOT_TAKEN = "appena stato prenotato da un'altra persona"


@pytest.fixture(scope="module")
def server(
    indexed_template: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[tuple[str, Instance, Settings]]:
    url = create_pg_database()
    root = tmp_path_factory.mktemp("races")
    try:
        instance = prepare(indexed_template, root, embedder, database_url=url, WEB_CONCURRENCY="2")
        settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
        with instance.serve("web") as (base, _):
            yield base, instance, settings
    finally:
        drop_pg_database(url)


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together; results or exceptions."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as exc:  # asserted on by the test
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_many_browsers_confirm_one_slot_one_gets_it(
    server: tuple[str, Instance, Settings], cases: Cases
) -> None:
    base, _, settings = server
    browsers = [Browser(base) for _ in range(BROWSERS)]
    try:
        with ThreadPoolExecutor(8) as pool:
            offered = list(
                pool.map(
                    lambda b: b.to_slots(f"Siamo la APS numero {id(b)}: dubbi sul 5 per mille."),
                    browsers,
                )
            )
            # The earliest slot every browser was offered (all the same, unless the clock
            # crossed a slot's start while they were getting there).
            common = [k for k in offered[0] if all(k in keys for keys in offered)]
            assert common, offered
            list(pool.map(lambda b: b.pick(common[0]), browsers))
        slot_id = int(common[0].split(":")[1])
        responses = at_once(
            [
                lambda b=b: b.post("/api/chat/handover/choose", {"key": "confirm:yes"})
                for b in browsers
            ]
        )
    finally:
        for browser in browsers:
            browser.close()
    cases.add(BROWSERS)
    errors = [r for r in responses if not isinstance(r, httpx.Response)]
    assert errors == []
    assert all(r.status_code == 200 for r in responses), [r.status_code for r in responses]
    bodies = [r.json() for r in responses]
    won = [b for b in bodies if b["step"] == "done" and b["booking_id"]]
    lost = [b for b in bodies if b["step"] == "pick_slot"]
    assert (len(won), len(lost)) == (1, BROWSERS - 1), [b["step"] for b in bodies]
    for body in lost:
        assert SLOT_TAKEN in body["text"], body["text"]
        alternatives = [c["key"] for c in body["choices"] if c["kind"] == "slot"]
        assert alternatives and f"slot:{slot_id}" not in alternatives
    engine = make_engine(settings)
    try:
        with make_sessionmaker(engine).begin() as session:
            active = session.scalar(
                select(func.count())
                .select_from(Booking)
                .where(Booking.slot_id == slot_id, Booking.status == BookingStatus.ACTIVE)
            )
            assert active == 1
            scheduled = session.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.status == TicketStatus.SCHEDULED)
            )
            assert scheduled == 1
    finally:
        engine.dispose()


def test_many_experts_claim_one_ticket_one_wins(
    server: tuple[str, Instance, Settings], cases: Cases
) -> None:
    base, _, settings = server
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as session:
            for i in range(EXPERTS):
                expert = add_expert(session, f"gara-{i}", ["bilancio"])
                accounts.create_user(
                    session=session,
                    username=f"gara{i}",
                    password=PASSWORD,
                    role=UserRole.EXPERT,
                    expert_id=expert.id,
                )
        logged = [staff_login(base, f"gara{i}", PASSWORD) for i in range(EXPERTS)]
        for round_no in range(ROUNDS):
            with sessions.begin() as session:
                ticket_id = open_ticket(
                    session,
                    settings,
                    topic="bilancio",
                    now=server_clock().now(),
                    ref=f"gara-{round_no}",
                ).id
            path = f"/api/console/tickets/{ticket_id}/claim"
            responses = at_once(
                [lambda c=c, t=t, p=path: c.post(p, headers={"X-CSRF-Token": t}) for c, t in logged]
            )
            cases.add(EXPERTS)
            statuses = sorted(r.status_code for r in responses)
            assert statuses == [200] + [409] * (EXPERTS - 1), statuses
            for response in responses:
                if response.status_code == 409:
                    assert response.json()["error"] == "conflict" and response.json()["detail"]
            with sessions.begin() as session:
                ticket = session.get(Ticket, ticket_id)
                assert ticket is not None and ticket.status == TicketStatus.ASSIGNED
        for client, _ in logged:
            client.close()
    finally:
        engine.dispose()
