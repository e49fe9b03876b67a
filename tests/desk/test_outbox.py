"""Outbox: written with the change, delivered at least once, exactly once with the key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from sportello.clock import FrozenClock
from sportello.config import Settings
from sportello.desk import notifications, scheduling
from sportello.desk.models import OutboxMessage, OutboxStatus
from sportello.desk.schemas import Delivery
from tests.desk.factory import NOW, World, first_offer, open_ticket, outbox


class Crash(BaseException):
    """The process dies: nothing after this line runs (not an Exception, nobody catches it)."""


class FakeChannel:
    """A channel that, like a real one should, drops a repeat of an idempotency key."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.delivered: dict[str, Delivery] = {}

    def __call__(self, delivery: Delivery) -> None:
        self.calls.append(delivery.idempotency_key)
        self.delivered.setdefault(delivery.idempotency_key, delivery)


def statuses(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions.begin() as s:
        out: dict[str, int] = {}
        for row in outbox(s):
            out[row.status] = out.get(row.status, 0) + 1
        return out


def make_messages(sessions: sessionmaker[Session], settings: Settings) -> int:
    with sessions.begin() as s:
        ticket = open_ticket(s, settings)  # 2 notices to the fiscal experts
        offer = first_offer(s, settings)
        scheduling.book(ticket.id, offer.slot_id, session=s, settings=settings, now=NOW)  # 2 more
        return len(outbox(s))


def test_messages_roll_back_with_the_change(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    with pytest.raises(RuntimeError), sessions.begin() as s:
        open_ticket(s, db_settings)
        assert outbox(s)
        raise RuntimeError("the change fails")
    with sessions.begin() as s:
        assert outbox(s) == []


def test_deliver_marks_sent_once(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    total = make_messages(sessions, db_settings)
    channel = FakeChannel()
    report = notifications.deliver_pending(
        channel,
        session_factory=sessions,
        settings=db_settings,
        clock=FrozenClock(NOW),
        batch_size=3,
    )
    assert report.sent == total == len(channel.calls) == len(channel.delivered)
    assert statuses(sessions) == {OutboxStatus.SENT: total}
    again = notifications.deliver_pending(
        channel, session_factory=sessions, settings=db_settings, clock=FrozenClock(NOW)
    )
    assert again.sent == 0 and len(channel.calls) == total


def test_crash_between_send_and_mark_delivers_exactly_once(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    total = make_messages(sessions, db_settings)
    channel = FakeChannel()
    clock = FrozenClock(NOW)
    crashed: list[str] = []

    def send_then_die(delivery: Delivery) -> None:
        channel(delivery)  # the message left…
        if not crashed:
            crashed.append(delivery.idempotency_key)
            raise Crash  # …and the process died before marking it sent

    # One row per claim here, so the crash strands exactly one; with bigger batches the rest
    # of the batch waits for the lease too (still delivered once: it was never sent).
    with pytest.raises(Crash):
        notifications.deliver_pending(
            send_then_die,
            session_factory=sessions,
            settings=db_settings,
            clock=clock,
            batch_size=1,
        )
    assert statuses(sessions) == {OutboxStatus.SENDING: 1, OutboxStatus.PENDING: total - 1}

    # A worker restarting at once delivers the rest, but not the claimed row (lease still on).
    report = notifications.deliver_pending(
        channel, session_factory=sessions, settings=db_settings, clock=clock
    )
    assert report.sent == total - 1
    assert statuses(sessions) == {OutboxStatus.SENDING: 1, OutboxStatus.SENT: total - 1}

    # After the lease the orphan is sent again, with the same key: the channel drops the repeat.
    clock.set(NOW + timedelta(seconds=db_settings.desk_outbox_lease_seconds + 1))
    report = notifications.deliver_pending(
        channel, session_factory=sessions, settings=db_settings, clock=clock
    )
    assert report.sent == 1
    assert statuses(sessions) == {OutboxStatus.SENT: total}
    assert channel.calls.count(crashed[0]) == 2  # at least once…
    assert len(channel.delivered) == total  # …exactly once for the person
    with sessions.begin() as s:
        row = s.query(OutboxMessage).filter_by(idempotency_key=crashed[0]).one()
        assert row.attempts == 2 and row.sent_at == clock.now()


def test_failures_are_retried_then_parked(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    settings = db_settings.model_copy(update={"desk_outbox_max_attempts": 2})
    total = make_messages(sessions, settings)
    clock = FrozenClock(NOW)

    def broken(delivery: Delivery) -> None:
        raise ConnectionError("Telegram non risponde")

    first = notifications.deliver_pending(
        broken, session_factory=sessions, settings=settings, clock=clock
    )
    assert (first.sent, first.retried, first.failed) == (0, total, 0)
    assert statuses(sessions) == {OutboxStatus.PENDING: total}
    # Not retried before the backoff.
    assert (
        notifications.deliver_pending(
            broken, session_factory=sessions, settings=settings, clock=clock
        ).retried
        == 0
    )
    clock.advance(timedelta(minutes=5))
    second = notifications.deliver_pending(
        broken, session_factory=sessions, settings=settings, clock=clock
    )
    assert second.failed == total
    with sessions.begin() as s:
        rows = outbox(s)
        assert {r.status for r in rows} == {OutboxStatus.FAILED}
        assert "Telegram non risponde" in (rows[0].last_error or "")


def test_senders_per_channel(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    make_messages(sessions, db_settings)
    telegram = FakeChannel()
    report = notifications.deliver_pending(
        {"telegram": telegram},
        session_factory=sessions,
        settings=db_settings,
        clock=FrozenClock(NOW),
    )
    assert report.sent == len(telegram.calls) > 0
    assert {d.channel for d in telegram.delivered.values()} == {"telegram"}
    with sessions.begin() as s:
        pending = [r for r in outbox(s) if r.status == OutboxStatus.PENDING]
        assert pending and {r.channel for r in pending} == {"email"}
    capped = notifications.deliver_pending(
        {"email": FakeChannel()},
        session_factory=sessions,
        settings=db_settings,
        clock=FrozenClock(NOW),
        max_messages=1,
    )
    assert capped.sent == 1
