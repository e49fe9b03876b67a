"""Retention: conversations silent for longer than `retention_days` are deleted.

A conversation goes when neither it nor any of its messages changed within the period, unless
one of its tickets is still open (the person is being helped). Its finished tickets stay for
the statistics, anonymised like after an erasure request. The web app runs the purge at start
and every few hours (`running_retention`); `sportello conversations purge` runs it by hand or
from cron. `retention_days = 0` keeps conversations until the person asks to erase them.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from sportello.clock import Clock
from sportello.config import Settings
from sportello.desk.models import TicketStatus
from sportello.periodic import running_every
from sportello.privacy import queries
from sportello.privacy.erasure import anonymise_tickets

logger = logging.getLogger(__name__)

PURGED = "[rimosso alla scadenza del periodo di conservazione]"
CHECK_EVERY_S = 6 * 3600.0
BATCH = 500
FINISHED = (TicketStatus.CLOSED, TicketStatus.CANCELLED)


@dataclass(frozen=True)
class Purge:
    conversations: int = 0
    messages: int = 0
    tickets: int = 0


def purge_expired(*, session: Session, settings: Settings, now: datetime) -> Purge:
    """Delete the expired conversations (messages and votes with them); nothing commits."""
    if settings.retention_days <= 0:
        return Purge()
    cutoff = now - timedelta(days=settings.retention_days)
    ids = queries.expired_conversations(session, cutoff, FINISHED)
    conversations = messages = tickets = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        linked = queries.tickets_of_conversations(session, batch)
        anonymise_tickets(linked, PURGED, session=session)
        gone_messages, gone_conversations = queries.delete_conversations(session, batch)
        messages += gone_messages
        conversations += gone_conversations
        tickets += len(linked)
    session.expire_all()  # bulk deletes: nothing loaded before may be trusted
    return Purge(conversations, messages, tickets)


def purge_once(sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> Purge:
    """One unit of work: purge what expired by the clock's now."""
    with sessions.begin() as session:
        return purge_expired(session=session, settings=settings, now=clock.now())


def running_retention(
    sessions: sessionmaker[Session], settings: Settings, clock: Clock
) -> AbstractAsyncContextManager[None]:
    """Purge at start and every CHECK_EVERY_S while the context runs (off at 0 days).

    Several processes may run it at once: a conversation deleted by one is simply not found
    by the others.
    """

    def work() -> None:
        done = purge_once(sessions, settings, clock)
        if done.conversations:
            logger.info(
                "retention: %d conversations (%d messages) deleted, %d tickets anonymised",
                done.conversations,
                done.messages,
                done.tickets,
            )

    interval = CHECK_EVERY_S if settings.retention_days > 0 else 0
    return running_every("conversation-retention", interval, work)
