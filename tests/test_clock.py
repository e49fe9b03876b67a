"""One clock: the real one (optionally shifted), a frozen one for tests, and nobody else reading
the wall clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sportello.clock import FrozenClock, SystemClock, local_today
from sportello.config import PROJECT_ROOT, Settings
from sportello.services import build_services
from tests.conftest import make_settings

WALL_CLOCK = re.compile(r"datetime\.now\(|utcnow\(\)|date\.today\(|time\.time\(")


def test_only_the_clock_reads_the_wall_clock() -> None:
    readers = [
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "sportello").rglob("*.py")
        if WALL_CLOCK.search(path.read_text("utf-8"))
    ]
    assert readers == ["sportello/clock.py"]


def test_the_system_clock_can_run_shifted() -> None:
    real = SystemClock().now()
    shifted = SystemClock(timedelta(days=-400)).now()
    assert real.tzinfo is UTC
    assert abs((real - shifted) - timedelta(days=400)) < timedelta(seconds=5)


def test_the_frozen_clock_moves_only_when_told() -> None:
    clock = FrozenClock(datetime(2028, 2, 29, 23, 30, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2028, 2, 29, 23, 30, tzinfo=UTC)
    assert clock.advance(timedelta(hours=1)) == datetime(2028, 3, 1, 0, 30, tzinfo=UTC)
    clock.set(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    assert local_today(clock, "Europe/Rome").isoformat() == "2027-01-01"  # 00:30 in Rome
    with pytest.raises(ValueError):
        FrozenClock(datetime(2026, 12, 1, 9, 0))  # noqa: DTZ001 - naive: a bug in the caller


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", timedelta(0)), ("-3600", timedelta(hours=-1)), ("P30DT2H", timedelta(days=30, hours=2))],
)
def test_the_offset_setting_reads_seconds_or_iso_durations(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: timedelta
) -> None:
    monkeypatch.setenv("SPORTELLO_CLOCK_OFFSET", text)
    assert Settings(_env_file=None).clock_offset == expected  # type: ignore[call-arg]


def test_services_take_the_clock_they_are_given_or_the_shifted_real_one(tmp_path: Path) -> None:
    frozen = FrozenClock(datetime(2027, 3, 28, 1, 30, tzinfo=UTC))
    settings = make_settings(tmp_path, clock_offset=timedelta(days=-30))
    given = build_services(settings, clock=frozen)
    try:
        assert given.clock is frozen
        with given.sessions.begin() as session:  # rows are stamped by that clock too
            from sportello.conversations import service as conversations
            from sportello.conversations.models import Channel

            conv = conversations.start(session=session, channel=Channel.WEB, external_ref="x")
            session.flush()
            assert conv.created_at == frozen.now()
    finally:
        given.engine.dispose()
    default = build_services(settings)
    try:
        lag = SystemClock().now() - default.clock.now()
        assert abs(lag - timedelta(days=30)) < timedelta(seconds=5)
    finally:
        default.engine.dispose()
