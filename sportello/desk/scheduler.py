"""The desk's clock: queue due appointment reminders every so often, beside the channels.

Reminders are idempotent (one outbox row per booking, SEQUENCE and offset), so several
processes running this loop at once never queue one twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.desk.reminders import queue_due_reminders

logger = logging.getLogger(__name__)


def queue_reminders_once(sessions: sessionmaker[Session], settings: Settings) -> int:
    """One unit of work: queue the reminders due now; returns how many were queued."""
    with sessions.begin() as session:
        return queue_due_reminders(session=session, settings=settings)


@asynccontextmanager
async def running_reminders(
    sessions: sessionmaker[Session], settings: Settings
) -> AsyncIterator[None]:
    """Run the reminder loop for the lifetime of the context (0 seconds disables it)."""
    interval = settings.desk_reminder_check_seconds
    if interval <= 0:
        yield
        return

    async def loop() -> None:
        while True:
            try:
                queued = await asyncio.to_thread(queue_reminders_once, sessions, settings)
                if queued:
                    logger.info("queued %d appointment reminders", queued)
            except Exception:  # a database hiccup must not stop the loop; it retries next tick
                logger.exception("reminder run failed")
            await asyncio.sleep(interval)

    task = asyncio.create_task(loop(), name="desk-reminders")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
