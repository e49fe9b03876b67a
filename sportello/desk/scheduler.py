"""The reminder loop: queue due appointment reminders every so often, beside the channels.

Reminders are idempotent (one outbox row per booking, SEQUENCE and offset), so several
processes running this loop at once never queue one twice.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager

from sqlalchemy.orm import Session, sessionmaker

from sportello.clock import Clock
from sportello.config import Settings
from sportello.desk.reminders import queue_due_reminders
from sportello.periodic import running_every

logger = logging.getLogger(__name__)


def queue_reminders_once(sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> int:
    """One unit of work: queue the reminders due by the clock; returns how many were queued."""
    with sessions.begin() as session:
        return queue_due_reminders(session=session, settings=settings, now=clock.now())


def running_reminders(
    sessions: sessionmaker[Session], settings: Settings, clock: Clock
) -> AbstractAsyncContextManager[None]:
    """Run the reminder loop for the lifetime of the context (0 seconds disables it)."""

    def work() -> None:
        queued = queue_reminders_once(sessions, settings, clock)
        if queued:
            logger.info("queued %d appointment reminders", queued)

    return running_every("desk-reminders", settings.desk_reminder_check_seconds, work)
