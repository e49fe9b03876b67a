"""Prometheus metrics: definitions, the hooks that feed them, and the text served at /metrics.

Domain code never imports this module. Replies, escalations (tickets opened) and bookings are
counted from what a committed transaction stored (SQLAlchemy session events), so every channel
is counted the same way and a rolled-back attempt is not; retrieval latency comes from the
Retriever's observer callback; the outbox backlog is read from the database at scrape time.

Several workers (`sportello serve --workers N`): set PROMETHEUS_MULTIPROC_DIR (an empty
folder, emptied before the workers start) in the environment of the web process. Each worker
then writes its samples there and any worker answering /metrics adds up all of them; a worker
that died and was replaced keeps its counts there (counters and histograms only: no live
gauge to retire). Without it, a scrape sees only the worker that answered it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_LATENCY = Histogram(
    "sportello_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
REQUESTS = Counter(
    "sportello_http_requests",
    "HTTP requests by route template and status.",
    ["method", "route", "status"],
)
REPLIES = Counter("sportello_replies", "Assistant replies stored, by action.", ["action"])
RETRIEVAL_LATENCY = Histogram(
    "sportello_retrieval_duration_seconds",
    "Knowledge-base search latency (embedding, dense and lexical search).",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0),
)
ESCALATIONS = Counter(
    "sportello_escalations", "Tickets opened for an expert (hand-overs), by channel.", ["channel"]
)
BOOKINGS = Counter("sportello_bookings", "Appointments booked.")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# -- hooks ----------------------------------------------------------------------------------------
def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(method, route).observe(seconds)
    REQUESTS.labels(method, route, str(status)).inc()


def observe_retrieval(timings: dict[str, float]) -> None:
    """The Retriever's observer: `timings` in milliseconds, `total_ms` the whole search."""
    RETRIEVAL_LATENCY.observe(timings.get("total_ms", 0.0) / 1e3)


_WATCHED = "sportello_metrics_new"


def _after_flush(session: Session, _context: Any) -> None:
    from sportello.conversations.models import Message, Role
    from sportello.desk.models import Booking, Ticket

    pending = session.info.setdefault(_WATCHED, [])
    for obj in session.new:
        if isinstance(obj, Ticket | Booking) or (
            isinstance(obj, Message) and obj.role == Role.ASSISTANT
        ):
            pending.append(obj)


def _after_commit(session: Session) -> None:
    from sportello.conversations.models import Message
    from sportello.desk.models import Ticket

    if session.in_nested_transaction():
        return  # a SAVEPOINT released: count at the real commit (and emit no SQL here)
    for obj in session.info.pop(_WATCHED, []):
        if not inspect(obj).persistent:  # inserted in a savepoint that was rolled back
            continue
        if isinstance(obj, Message):
            REPLIES.labels(obj.action or "none").inc()
        elif isinstance(obj, Ticket):
            ESCALATIONS.labels(obj.channel or "none").inc()
        else:
            BOOKINGS.inc()


def _after_rollback(session: Session) -> None:
    session.info.pop(_WATCHED, None)


def watch_sessions(sessions: sessionmaker[Session]) -> None:
    """Count what the sessions of `sessions` commit (idempotent)."""
    if event.contains(sessions, "after_flush", _after_flush):
        return
    event.listen(sessions, "after_flush", _after_flush)
    event.listen(sessions, "after_commit", _after_commit)
    event.listen(sessions, "after_rollback", _after_rollback)


# -- exposition -------------------------------------------------------------------------------
class OutboxBacklog(Collector):
    """Messages waiting in the outbox, by channel: counted in the database at each scrape."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        from sportello.desk import notifications

        gauge = GaugeMetricFamily(
            "sportello_outbox_backlog",
            "Outbox messages not delivered yet (pending or being sent), by channel.",
            labels=["channel"],
        )
        with self.sessions() as session:
            for channel, count in notifications.outbox_backlog(session):
                gauge.add_metric([channel], count)
        yield gauge

    def describe(self) -> Iterable[Metric]:
        return []


def render(sessions: sessionmaker[Session]) -> bytes:
    """The exposition text: this process's metrics (or every worker's) and the outbox gauge."""
    path = multiprocess_dir()
    if path:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path)
    else:
        registry = REGISTRY  # ours, plus process_* and python_* figures of this process
    backlog = CollectorRegistry(auto_describe=False)
    backlog.register(OutboxBacklog(sessions))
    return generate_latest(registry) + generate_latest(backlog)
