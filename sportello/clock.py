"""The one clock: `SystemClock` is the only place that reads the wall clock; tests freeze it.

Every service, job and channel takes a `Clock` from the composition root and asks it for
`now()`; domain functions take the instant (`now: datetime`) from their caller, who owns the
transaction. `SystemClock` may run shifted by an offset (setting `SPORTELLO_CLOCK_OFFSET`), so
the whole application, and the whole test suite, can be run "on" another day.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """A source of the current instant (timezone-aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock, optionally shifted by `offset` (for running the app on another day)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class FrozenClock:
    """A clock that stands still until told to move: for tests and simulations."""

    def __init__(self, at: datetime) -> None:
        self._lock = threading.Lock()
        self._at = aware(at)

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = aware(at)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._at += delta
            return self._at


def local_today(clock: Clock, timezone: str) -> date:
    """Today's date at the desk (e.g. Europe/Rome), by the given clock."""
    return clock.now().astimezone(ZoneInfo(timezone)).date()


def aware(at: datetime) -> datetime:
    """`at` in UTC; a naive instant is a bug in the caller."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: a timezone-aware instant is needed")
    return at.astimezone(UTC)
