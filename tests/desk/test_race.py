"""Races, on SQLite and PostgreSQL: 200 bookers for one slot, 20 experts claiming one ticket.

Each call runs in its own thread-held session and transaction, over a pool of 20 connections,
the way 20 web workers or bot handlers would. Repeated 10 times per backend (2,000 booking
attempts; 20 rounds took 45-80 s on PostgreSQL alone, most of `make test`'s slowest test).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.desk import scheduling, tickets
from sportello.desk.models import Ticket, TicketStatus
from sportello.errors import ErrorCode, SportelloError
from tests.desk.factory import NOW, active_bookings, add_desk, add_expert, add_rule

pytestmark = pytest.mark.race

THREADS = 20
BOOKERS = 200
ROUNDS = 10


@pytest.fixture
def pool(engine: Engine, db_settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions over a 20-connection pool (the `engine` fixture has migrated the schema)."""
    racing = make_engine(
        db_settings, pool_size=THREADS, max_overflow=0, pool_timeout=60, pool_pre_ping=False
    )
    yield make_sessionmaker(racing)
    racing.dispose()


def hammer(calls: list[Callable[[], object]]) -> list[object]:
    """Run `calls` over THREADS threads that start together; return results or exceptions."""
    results: list[object] = [None] * len(calls)
    barrier = threading.Barrier(THREADS)

    def worker(offset: int) -> None:
        barrier.wait()
        for i in range(offset, len(calls), THREADS):
            try:
                results[i] = calls[i]()
            except Exception as exc:  # collected and asserted on by the test
                results[i] = exc

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_200_bookers_one_slot(pool: sessionmaker[Session], db_settings: Settings) -> None:
    with pool.begin() as s:
        desk = add_desk(s, "race")
        expert = add_expert(s, "race", ["runts"])
        for weekday in range(7):
            add_rule(s, expert, desk, weekday, "08:00", "20:00", 30)
        offers = scheduling.offer_slots(
            "runts", session=s, settings=db_settings, now=NOW, limit=ROUNDS
        )
    assert len(offers) == ROUNDS
    started = time.perf_counter()
    ticket_ids: list[int] = []
    for round_no, offer in enumerate(offers):
        # The 199 losers of a round try again on the next slot, with one newcomer per round.
        with pool.begin() as s:
            ticket_ids += [
                tickets.open_ticket(
                    None,
                    "runts",
                    f"Iscrizione al RUNTS {round_no}-{i}",
                    session=s,
                    settings=db_settings,
                    now=NOW,
                    channel="web",
                    volunteer_ref=f"v{i}",
                ).id
                for i in range(BOOKERS - len(ticket_ids))
            ]

        def booker(ticket_id: int, slot_id: int = offer.slot_id) -> object:
            with pool.begin() as session:
                return scheduling.book(
                    ticket_id, slot_id, session=session, settings=db_settings, now=NOW
                ).id

        results = hammer([lambda t=t: booker(t) for t in ticket_ids])
        won = [r for r in results if isinstance(r, int)]
        lost = [r for r in results if isinstance(r, scheduling.SlotTaken)]
        other = [r for r in results if not isinstance(r, int | scheduling.SlotTaken)]
        assert other == [], f"round {round_no}: unexpected {other[:3]}"
        assert (len(won), len(lost)) == (1, BOOKERS - 1), f"round {round_no}"
        for taken in lost:
            assert taken.code is ErrorCode.SLOT_TAKEN
            assert taken.alternatives, "a loser must be offered other slots"
            assert offer.slot_id not in {a.slot_id for a in taken.alternatives}
        with pool.begin() as s:
            assert active_bookings(s, offer.slot_id) == 1
            scheduled = [
                t
                for t in ticket_ids
                if s.get(Ticket, t).status == TicketStatus.SCHEDULED  # type: ignore[union-attr]
            ]
            assert len(scheduled) == 1
        ticket_ids = [t for t in ticket_ids if t not in scheduled]
    elapsed = time.perf_counter() - started
    print(f"\n{db_settings.database_url or 'sqlite'}: {ROUNDS}×{BOOKERS} in {elapsed:.1f} s")  # noqa: T201


def test_one_claim_wins(pool: sessionmaker[Session], db_settings: Settings) -> None:
    with pool.begin() as s:
        experts = [add_expert(s, f"claim-{i}", ["bilancio"]).id for i in range(THREADS)]
    for round_no in range(ROUNDS):
        with pool.begin() as s:
            ticket_id = tickets.open_ticket(
                None,
                "bilancio",
                f"Bilancio {round_no}",
                session=s,
                settings=db_settings,
                now=NOW,
                channel="web",
            ).id

        def claimer(expert_id: int, ticket_id: int = ticket_id) -> object:
            with pool.begin() as session:
                moment = NOW + timedelta(minutes=1)
                return tickets.claim(ticket_id, expert_id, session=session, now=moment).id

        results = hammer([lambda e=e: claimer(e) for e in experts])
        winners = [r for r in results if r == ticket_id]
        losers = [r for r in results if isinstance(r, SportelloError)]
        assert len(winners) == 1 and len(losers) == THREADS - 1, f"round {round_no}: {results}"
        assert all(e.code is ErrorCode.CONFLICT for e in losers)  # type: ignore[union-attr]
        with pool.begin() as s:
            ticket = s.get(Ticket, ticket_id)
            assert ticket is not None and ticket.status == TicketStatus.ASSIGNED
            assert ticket.assigned_expert_id in experts


def test_concurrent_ticket_codes_are_unique_and_gapless(
    pool: sessionmaker[Session], db_settings: Settings
) -> None:
    def opener(i: int) -> object:
        with pool.begin() as session:
            return tickets.open_ticket(
                None,
                "riforma",
                f"Domanda {i}",
                session=session,
                settings=db_settings,
                now=NOW,
                channel="web",
            ).code

    codes = hammer([lambda i=i: opener(i) for i in range(BOOKERS)])
    assert all(isinstance(c, str) for c in codes), [c for c in codes if not isinstance(c, str)]
    assert sorted(codes) == [f"SPT-2026-{n:04d}" for n in range(1, BOOKERS + 1)]  # type: ignore[type-var]
