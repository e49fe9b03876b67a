"""Per-chat order and flood control: updates of one chat run one at a time, and not too fast."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class FloodLimiter:
    """At most `limit` updates per chat in any `window` seconds (in memory, per process).

    `hit(chat)` returns "ok", "warn" (first refusal in the window: say so politely) or "drop".
    """

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    def hit(self, chat_id: int) -> str:
        now = self.clock()
        times = self._seen.setdefault(chat_id, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            self._forget_idle(now)
            return "ok"
        if now - self._warned.get(chat_id, -self.window) >= self.window:
            self._warned[chat_id] = now
            return "warn"
        return "drop"

    def _forget_idle(self, now: float) -> None:
        # Keep memory bounded by the chats active in the last window.
        if len(self._seen) > 10_000:
            for chat_id in [
                c for c, t in self._seen.items() if not t or now - t[-1] >= self.window
            ]:
                self._seen.pop(chat_id, None)
                self._warned.pop(chat_id, None)


class PerChatProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; those of one chat in arrival order.

    The assistant may take seconds: one person waiting must not block everyone, but two quick
    messages of the same person must not race on their conversation state.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int | None, asyncio.Lock] = {}
        self._users: dict[int | None, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = None
        if isinstance(update, Update) and update.effective_chat is not None:
            key = update.effective_chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""
