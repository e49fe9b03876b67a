"""Run a blocking unit of work every N seconds beside the app, for the life of a context."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

logger = logging.getLogger(__name__)


@asynccontextmanager
async def running_every(
    name: str, interval_s: float, work: Callable[[], object]
) -> AsyncIterator[None]:
    """Call `work` in a thread now and every `interval_s` seconds (never when ≤ 0).

    A failed run is logged and retried at the next tick: a database hiccup must not stop it.
    """
    if interval_s <= 0:
        yield
        return

    async def loop() -> None:
        while True:
            try:
                await asyncio.to_thread(work)
            except Exception:
                logger.exception("%s failed", name)
            await asyncio.sleep(interval_s)

    task = asyncio.create_task(loop(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
