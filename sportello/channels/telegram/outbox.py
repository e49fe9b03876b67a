"""Delivering the desk outbox on Telegram: expert replies, reminders, confirmations with .ics…

`deliver_pending` is blocking and runs in a worker thread; the sender hands each Bot API call
back to the bot's event loop and waits for it. Every part of a message (text parts, the .ics
document) is remembered once sent, so a row delivered again after a crash sends only what is
missing — the person receives each message once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import InlineKeyboardMarkup, InputFile

from sportello.channels.telegram import keyboards, queries, updates
from sportello.channels.telegram.render import MAX_CAPTION, delivery_html, split_html
from sportello.channels.telegram.texts import Texts
from sportello.desk.models import OutboxKind
from sportello.desk.notifications import TELEGRAM, deliver_pending
from sportello.desk.schemas import Delivery, DeliveryReport

if TYPE_CHECKING:
    from sportello.channels.telegram.context import BotApplication

logger = logging.getLogger(__name__)
SEND_TIMEOUT = 120.0  # seconds one Bot API call may take, 429 waits included
PRUNE_EVERY = 3600.0


@dataclass(frozen=True)
class Part:
    """One Bot API call of a delivery: a text message or a document."""

    text: str | None = None
    markup: InlineKeyboardMarkup | None = None
    document: bytes | None = None
    filename: str = ""
    caption: str = ""


def delivery_parts(delivery: Delivery, texts: Texts) -> list[Part]:
    """The messages a desk row becomes: its text (split), its buttons, its calendar file."""
    payload = delivery.payload
    code = str(payload.get("ticket_code") or "")
    body = delivery_html(delivery)
    markup = None
    if delivery.kind == OutboxKind.NEW_TICKET and code:
        markup = keyboards.claim_keyboard(code, texts)
    elif delivery.kind == OutboxKind.CLOSED and code:
        body += "\n\n" + texts.html("rating_question")
        markup = keyboards.rating_keyboard(code)
    chunks = split_html(body)
    parts = [
        Part(text=c, markup=markup if i == len(chunks) - 1 else None) for i, c in enumerate(chunks)
    ]
    ics = payload.get("ics")
    if isinstance(ics, str) and ics:
        caption_key = (
            "calendar_cancel_caption"
            if delivery.kind == OutboxKind.CANCELLATION
            else "calendar_caption"
        )
        parts.append(
            Part(
                document=ics.encode("utf-8"),
                filename=str(payload.get("ics_filename") or "appuntamento.ics"),
                caption=texts.html(caption_key)[:MAX_CAPTION],
            )
        )
    return parts


class TelegramSender:
    """The outbox sender for the `telegram` channel (called from a worker thread)."""

    def __init__(self, application: BotApplication, loop: asyncio.AbstractEventLoop) -> None:
        self.application = application
        self.loop = loop
        runtime = application.bot_data.runtime
        self.sessions = runtime.services.sessions
        self.clock = runtime.services.clock
        self.texts = runtime.texts

    def __call__(self, delivery: Delivery) -> None:
        if not delivery.recipient:
            raise ValueError(f"outbox {delivery.id}: no Telegram chat to deliver to")
        chat_id = int(delivery.recipient)
        for i, part in enumerate(delivery_parts(delivery, self.texts)):
            key = f"{delivery.idempotency_key}#{i}"
            with self.sessions.begin() as session:
                if queries.part_sent(session, key):
                    continue  # sent before a crash: do not repeat it
            self._run(self._send(chat_id, part))
            with self.sessions.begin() as session:
                queries.mark_part_sent(session, key, self.clock.now())

    async def _send(self, chat_id: int, part: Part) -> None:
        bot = self.application.bot
        if part.document is not None:
            await bot.send_document(
                chat_id,
                InputFile(part.document, filename=part.filename),
                caption=part.caption or None,
            )
        else:
            await bot.send_message(chat_id, part.text or "", reply_markup=part.markup)

    def _run(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=SEND_TIMEOUT)


class OutboxWorker:
    """Delivers the desk outbox every `telegram_outbox_interval` seconds, or when woken."""

    def __init__(self, application: BotApplication) -> None:
        self.application = application
        runtime = application.bot_data.runtime
        self.services, self.settings = runtime.services, runtime.settings
        self.wakeup = runtime.outbox_wakeup
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._last_prune = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="telegram-outbox")

    async def stop(self) -> None:
        """Finish the delivery in progress (a thread cannot be interrupted), then stop."""
        self._stopping = True
        self.wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=SEND_TIMEOUT)
            except TimeoutError:
                logger.warning("outbox worker did not stop in time")

    async def deliver_once(self) -> DeliveryReport:
        sender = TelegramSender(self.application, asyncio.get_running_loop())
        return await asyncio.to_thread(
            deliver_pending,
            {TELEGRAM: sender},
            session_factory=self.services.sessions,
            settings=self.settings,
            clock=self.services.clock,
        )

    async def _loop(self) -> None:
        while not self._stopping:
            self.wakeup.clear()
            try:
                report = await self.deliver_once()
                if report.sent or report.retried or report.failed:
                    logger.info("telegram outbox: %s", report)
                if time.monotonic() - self._last_prune > PRUNE_EVERY:
                    await asyncio.to_thread(updates.prune, self.services)
                    self._last_prune = time.monotonic()
            except Exception:  # the database may be briefly away: keep the worker alive
                logger.exception("telegram outbox delivery failed")
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self.wakeup.wait(), timeout=self.settings.telegram_outbox_interval
                )
