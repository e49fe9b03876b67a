"""The rate limit's rule on both databases: a burst, then one per interval, the whole allowance
back after a quiet window, all-or-nothing across limits, and exact under concurrent workers."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from sportello.clock import FrozenClock
from sportello.config import Settings
from sportello.ratelimit import policy
from sportello.ratelimit.models import RateBucket
from sportello.ratelimit.policy import Limit, Rate, Refusal

VOLUNTEER = Limit("volunteer", policy.bucket("volunteer", "web:abc"), Rate(3, 60))
ADDRESS = Limit("ip", policy.bucket("ip", "203.0.113.7"), Rate(4, 60))


def take(sessions: sessionmaker[Session], clock: FrozenClock, *limits: Limit) -> Refusal | None:
    with sessions.begin() as session:
        return policy.take(limits, session=session, now=clock.now())


def test_a_burst_then_one_per_interval_then_all_back_after_a_quiet_window(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    assert [take(sessions, clock, VOLUNTEER) for _ in range(3)] == [None, None, None]
    refused = take(sessions, clock, VOLUNTEER)
    assert refused == Refusal("volunteer", retry_after=20, first=True)  # 60 s / 3
    again = take(sessions, clock, VOLUNTEER)
    assert again is not None and not again.first  # told once per window
    clock.advance(timedelta(seconds=19))
    assert take(sessions, clock, VOLUNTEER) == Refusal("volunteer", 1, False)
    clock.advance(timedelta(seconds=1))
    assert take(sessions, clock, VOLUNTEER) is None  # one more place every 20 s
    assert take(sessions, clock, VOLUNTEER) is not None
    clock.advance(timedelta(seconds=60))
    assert [take(sessions, clock, VOLUNTEER) for _ in range(3)] == [None, None, None]
    told = take(sessions, clock, VOLUNTEER)
    assert told is not None and told.first  # a new window: told again


def test_a_message_counts_against_every_limit_or_none(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    other = Limit("volunteer", policy.bucket("volunteer", "web:other"), Rate(3, 60))
    for _ in range(3):
        assert take(sessions, clock, VOLUNTEER, ADDRESS) is None
    assert take(sessions, clock, other, ADDRESS) is None  # the address's 4th
    refused = take(sessions, clock, other, ADDRESS)
    assert refused is not None and refused.scope == "ip"
    # The refused message did not use one of `other`'s places: two are left.
    assert take(sessions, clock, other) is None
    assert take(sessions, clock, other) is None
    assert take(sessions, clock, other) is not None


def test_settings_choose_the_limits(settings: Settings) -> None:
    both = policy.limits(settings, "web", "abc", "203.0.113.7")
    assert [(x.scope, x.rate) for x in both] == [("volunteer", Rate(15, 60)), ("ip", Rate(60, 60))]
    assert [x.scope for x in policy.limits(settings, "telegram", "42")] == ["volunteer"]
    off = settings.model_copy(update={"rate_limit_ip_messages": 0})
    assert len(policy.limits(off, "web", "abc", "203.0.113.7")) == 1
    # No plain address or chat id is stored: only a hash names the identity.
    assert "203.0.113.7" not in both[1].bucket and len(both[1].bucket) == 64


def test_concurrent_workers_let_exactly_the_allowance_through(
    sessions: sessionmaker[Session], clock: FrozenClock
) -> None:
    """Sixteen connections at once (as several web workers would be) on one identity."""
    limit = Limit("volunteer", policy.bucket("volunteer", "web:flood"), Rate(5, 3600))
    barrier = threading.Barrier(16)
    verdicts: list[bool] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        verdict = take(sessions, clock, limit) is None
        with lock:
            verdicts.append(verdict)

    threads = [threading.Thread(target=one) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(verdicts) == [False] * 11 + [True] * 5


def test_prune_forgets_only_identities_quiet_for_a_window(
    sessions: sessionmaker[Session], clock: FrozenClock, settings: Settings
) -> None:
    take(sessions, clock, VOLUNTEER)
    clock.advance(timedelta(seconds=90))
    take(sessions, clock, ADDRESS)
    with sessions.begin() as session:
        assert policy.prune(settings, session=session, now=clock.now() + timedelta(seconds=1)) == 1
        assert session.scalar(select(func.count()).select_from(RateBucket)) == 1
