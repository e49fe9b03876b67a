"""The reminder loop: queue due appointment reminders (and, with e-mail on, the experts'
daily digests and agendas) every so often, beside the channels.

Both are idempotent (one outbox row per booking, SEQUENCE and offset; one per expert and
local day), so several processes running this loop at once never queue one twice.
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager

from sqlalchemy.orm import Session, sessionmaker

from sportello.clock import Clock
from sportello.config import Settings
from sportello.desk.notifications.digests import queue_due_digests
from sportello.desk.scheduling.reminders import queue_due_reminders
from sportello.periodic import running_every

logger = logging.getLogger(__name__)


def queue_reminders_once(sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> int:
    """One unit of work: queue the reminders due by the clock; returns how many were queued."""
    with sessions.begin() as session:
        return queue_due_reminders(session=session, settings=settings, now=clock.now())


def queue_digests_once(sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> int:
    """One unit of work: queue the experts' digests and agendas due by the clock (e-mail on)."""
    if not settings.email_enabled:
        return 0
    with sessions.begin() as session:
        return queue_due_digests(session=session, settings=settings, now=clock.now())


def running_reminders(
    sessions: sessionmaker[Session], settings: Settings, clock: Clock
) -> AbstractAsyncContextManager[None]:
    """Run the reminder loop for the lifetime of the context (0 seconds disables it)."""

    def work() -> None:
        queued = queue_reminders_once(sessions, settings, clock)
        if queued:
            logger.info("queued %d appointment reminders", queued)
        daily = queue_digests_once(sessions, settings, clock)
        if daily:
            logger.info("queued %d e-mail digests and agendas", daily)

    return running_every("desk-reminders", settings.desk_reminder_check_seconds, work)
