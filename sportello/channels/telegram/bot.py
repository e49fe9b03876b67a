"""Building and running the Telegram bot: `build_bot(settings, services)`, `running_bot(...)`.

    async with running_bot(settings, services) as application:   # polling or webhook
        ...                                                       # serve until shutdown

Long polling by default; with `telegram_webhook_url` set, Telegram posts updates to the
FastAPI route in `webhook.py`, which checks the secret token and queues them here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from sportello.channels.telegram import buttons as b
from sportello.channels.telegram import handlers as h
from sportello.channels.telegram.context import BotApplication, BotContext, BotData, Runtime
from sportello.channels.telegram.guards import PerChatProcessor
from sportello.channels.telegram.outbox import OutboxWorker
from sportello.channels.telegram.redact import protect_token
from sportello.channels.telegram.texts import COMMANDS, Texts
from sportello.config import Settings
from sportello.errors import ErrorCode, SportelloError

if TYPE_CHECKING:
    from sportello.services import Services

logger = logging.getLogger(__name__)
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
CONCURRENT_UPDATES = 16
RATE_LIMIT_RETRIES = 3
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def build_bot(settings: Settings, services: Services) -> BotApplication:
    """The python-telegram-bot Application, with every handler wired; not started."""
    token = settings.telegram_token.get_secret_value()
    if not token:
        raise SportelloError(ErrorCode.INVALID_INPUT, "telegram_token_missing")
    webhook = bool(settings.telegram_webhook_url)
    if webhook and not _SECRET.match(settings.telegram_webhook_secret.get_secret_value()):
        raise SportelloError(ErrorCode.INVALID_INPUT, "telegram_webhook_secret")
    protect_token(token)  # Bot API URLs contain it: never in a log line
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
        )
        .rate_limiter(AIORateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(PerChatProcessor(CONCURRENT_UPDATES))
        .job_queue(None)
    )
    if webhook:
        builder = builder.updater(None)
    application: BotApplication = builder.build()  # type: ignore[assignment]
    application.bot_data.attach(
        Runtime(
            settings=settings,
            services=services,
            texts=Texts.load(),
        )
    )
    register(application)
    return application


def register(application: BotApplication) -> None:
    """Every handler, for private chats only; the guard runs first (dedupe, rate limit)."""
    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, h.guard), group=-1)
    commands = {
        "start": h.start,
        "aiuto": h.help_command,
        "help": h.help_command,
        "esperto": h.expert_command,
        "prenota": h.book_command,
        "appuntamenti": h.appointments_command,
        "annulla": h.leave_command,
        "privacy": h.privacy_command,
        "cancella_dati": h.erase_command,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=private))
    application.add_handler(MessageHandler(private & filters.COMMAND, h.unknown_command))
    application.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGE & filters.TEXT, h.text_message)
    )
    application.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGE & ~filters.TEXT, h.media_message)
    )
    buttons = {
        "fb": b.feedback_button,
        "ex": b.expert_button,
        "sq": b.suggestion_button,
        "ho": b.handover_button,
        "bk": b.booking_button,
        "er": b.erase_button,
        "rt": b.rating_button,
        "cl": b.claim_button,
    }
    for prefix, callback in buttons.items():
        application.add_handler(CallbackQueryHandler(callback, pattern=f"^{prefix}:"))
    application.add_error_handler(h.on_error)


async def set_commands(application: BotApplication) -> None:
    """Register the command menu with its Italian descriptions."""
    texts = application.bot_data.runtime.texts
    await application.bot.set_my_commands(
        [BotCommand(name, texts.commands[name]) for name in COMMANDS]
    )


@asynccontextmanager
async def running_bot(settings: Settings, services: Services) -> AsyncIterator[BotApplication]:
    """Start the bot (polling, or webhook via the FastAPI route) and its outbox worker."""
    application = build_bot(settings, services)
    async with application:  # initialize() … shutdown()
        await set_commands(application)
        await application.start()
        if settings.telegram_webhook_url:
            await application.bot.set_webhook(
                settings.telegram_webhook_url,
                secret_token=settings.telegram_webhook_secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            assert application.updater is not None
            await application.updater.start_polling(
                timeout=settings.telegram_poll_timeout, allowed_updates=ALLOWED_UPDATES
            )
        worker = OutboxWorker(application)
        worker.start()
        logger.info(
            "telegram bot started (%s)", "webhook" if settings.telegram_webhook_url else "polling"
        )
        try:
            yield application
        finally:
            await worker.stop()
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            await application.stop()


@asynccontextmanager
async def telegram_bot(
    settings: Settings, services: Services
) -> AsyncIterator[BotApplication | None]:
    """`running_bot` when a token is set, else nothing (for the web app's lifespan)."""
    if not settings.telegram_token.get_secret_value():
        yield None
        return
    async with running_bot(settings, services) as application:
        yield application
