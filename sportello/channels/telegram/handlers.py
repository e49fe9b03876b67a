"""Telegram handlers: parse the update, run one unit of work in a thread, render, reply.

The hand-over state lives in the database (`sportello.desk.handover.Step`), not in PTB, so the
handlers return nothing and a restarted bot continues every conversation where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop

from sportello.channels.telegram import keyboards, updates
from sportello.channels.telegram.context import BotContext
from sportello.channels.telegram.render import (
    escape,
    reply_html,
    safe_link,
    split_html,
    step_html,
)
from sportello.errors import SportelloError
from sportello.usecases import limits, volunteer
from sportello.usecases.results import AssistantReply, ExpertReplied, HandoverStep

logger = logging.getLogger(__name__)
TYPING_EVERY = 4.5  # Telegram shows "typing…" for about five seconds


# --- helpers -----------------------------------------------------------------------------------


def chat_of(update: Update) -> tuple[int, volunteer.Volunteer]:
    chat = update.effective_chat
    assert chat is not None  # every handler is registered for private chats only
    return chat.id, updates.volunteer(str(chat.id))


async def send(
    context: BotContext, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send HTML in parts below Telegram's limit; the keyboard goes with the last part."""
    parts = split_html(text)
    sent = None
    for i, part in enumerate(parts):
        sent = await context.bot.send_message(
            chat_id, part, reply_markup=markup if i == len(parts) - 1 else None
        )
    return sent


async def send_step(context: BotContext, chat_id: int, result: HandoverStep) -> None:
    if result.text:
        await send(
            context, chat_id, step_html(result, context.texts), keyboards.step_keyboard(result)
        )
    if result.queued:
        context.outbox_now()


@contextlib.asynccontextmanager
async def typing(
    context: BotContext, chat_id: int, start: asyncio.Event | None = None
) -> AsyncIterator[None]:
    """Show "typing…" while the work inside runs (renewed, as Telegram shows it ~5 s); with
    `start`, only once it is set (the assistant began to think)."""

    async def keep_typing() -> None:
        if start is not None:
            await start.wait()
        while True:
            try:
                await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
            except TelegramError as exc:  # only cosmetic: never fail the reply over it
                logger.info("typing action failed: %s", type(exc).__name__)
                return
            await asyncio.sleep(TYPING_EVERY)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def drop_keyboard(update: Update) -> None:
    """Remove the buttons of the message just used, so old choices cannot be pressed again."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    with contextlib.suppress(BadRequest):  # already without buttons
        await query.edit_message_reply_markup(None)


def _privacy(context: BotContext) -> str:
    text = context.texts.html("privacy")
    url = safe_link(context.settings.telegram_privacy_url)
    if url:
        text += "\n" + context.texts.html("privacy_link", url=url)
    return text


def callback_parts(update: Update) -> tuple[str, list[str]]:
    query = update.callback_query
    assert query is not None and query.data is not None
    prefix, *args = query.data.split(":")
    return prefix, args


# --- guard (runs before every handler) ---------------------------------------------------------


async def guard(update: Update, context: BotContext) -> None:
    """Drop an update handled before, and slow down a chat that writes too fast (both in one
    transaction)."""
    chat = update.effective_chat
    try:
        fresh = await asyncio.to_thread(
            updates.claim_update,
            context.services,
            update.update_id,
            str(chat.id) if chat is not None else None,
        )
    except limits.RateLimited as refused:
        if update.callback_query is not None:
            await update.callback_query.answer()
        # Said once per window (answering every message would feed the flood); only an update
        # with a chat is counted, so `chat` is there.
        if refused.first and chat is not None:
            await context.bot.send_message(chat.id, escape(refused.detail))
        raise ApplicationHandlerStop from None
    if not fresh:
        logger.info("update %s already handled: not answering twice", update.update_id)
        raise ApplicationHandlerStop


# --- commands ----------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> None:
    """Greet, say what the bot can do and show the privacy notice."""
    chat_id, _ = chat_of(update)
    await send(context, chat_id, f"{context.texts.html('welcome')}\n\n{_privacy(context)}")


async def help_command(update: Update, context: BotContext) -> None:
    """Explain the commands."""
    chat_id, _ = chat_of(update)
    await send(context, chat_id, context.texts.html("help"))


async def privacy_command(update: Update, context: BotContext) -> None:
    """Show the privacy notice with the link to the full text."""
    chat_id, _ = chat_of(update)
    await send(context, chat_id, _privacy(context))


async def expert_command(update: Update, context: BotContext) -> None:
    """Start the hand-over to an expert."""
    chat_id, who = chat_of(update)
    result = await asyncio.to_thread(
        volunteer.start_handover, context.services, who, appointment=False
    )
    await send_step(context, chat_id, result)


async def book_command(update: Update, context: BotContext) -> None:
    """Start the hand-over straight to an appointment."""
    chat_id, who = chat_of(update)
    result = await asyncio.to_thread(
        volunteer.start_handover, context.services, who, appointment=True
    )
    await send_step(context, chat_id, result)


async def appointments_command(update: Update, context: BotContext) -> None:
    """List the person's appointments, each with Cancel / Change buttons."""
    chat_id, who = chat_of(update)
    found = await asyncio.to_thread(volunteer.appointments, context.services, who)
    texts = context.texts
    if not found:
        await send(context, chat_id, texts.html("no_appointments"))
        return
    await send(context, chat_id, texts.html("appointments_heading"))
    for item in found:
        body = escape(item.details)
        if not (item.can_cancel or item.can_move):
            body += "\n" + texts.html("appointment_notice")
        await send(context, chat_id, body, keyboards.appointment_keyboard(item, texts))


async def leave_command(update: Update, context: BotContext) -> None:
    """Leave the current flow (or the expert's thread) and go back to the assistant."""
    chat_id, who = chat_of(update)
    result = await asyncio.to_thread(volunteer.leave, context.services, who)
    await send_step(context, chat_id, result)


async def erase_command(update: Update, context: BotContext) -> None:
    """Ask for confirmation before erasing the person's data."""
    chat_id, _ = chat_of(update)
    await send(
        context,
        chat_id,
        context.texts.html("erase_confirm"),
        keyboards.erase_keyboard(context.texts),
    )


async def unknown_command(update: Update, context: BotContext) -> None:
    """Answer an unknown command with the list of commands."""
    await help_command(update, context)


# --- messages ----------------------------------------------------------------------------------


async def answer_text(
    context: BotContext, chat_id: int, text: str, replied_to: str | None = None
) -> None:
    """Hand free text to the volunteer's use case; render each result it returns."""
    who, texts = updates.volunteer(str(chat_id)), context.texts
    loop, thinking = asyncio.get_running_loop(), asyncio.Event()
    async with typing(context, chat_id, thinking):  # not for a hand-over step or the expert
        results = await asyncio.to_thread(
            volunteer.receive_text,
            context.services,
            who,
            text,
            replied_to=replied_to,
            thinking=lambda: loop.call_soon_threadsafe(thinking.set),
        )
    for result in results:
        if isinstance(result, ExpertReplied):
            await send(context, chat_id, texts.html("expert_reply_sent", code=result.code))
            context.outbox_now()
        elif isinstance(result, HandoverStep):
            await send_step(context, chat_id, result)
        elif isinstance(result, AssistantReply):
            await send(
                context,
                chat_id,
                reply_html(result.reply, texts),
                keyboards.reply_keyboard(result.message_id, result.reply, texts),
            )


async def text_message(update: Update, context: BotContext) -> None:
    """Answer a text message."""
    message = update.effective_message
    assert message is not None and message.text is not None
    replied = message.reply_to_message
    replied_text = (replied.text or replied.caption) if replied is not None else None
    await answer_text(context, message.chat_id, message.text, replied_text)


async def media_message(update: Update, context: BotContext) -> None:
    """Ask politely for text: photos, voice notes, stickers and files are not read."""
    chat_id, _ = chat_of(update)
    await send(context, chat_id, context.texts.html("text_only"))


# --- errors ------------------------------------------------------------------------------------


async def on_error(update: object, context: BotContext) -> None:
    """Tell the person what went wrong, politely; log failures without the message text."""
    error = context.error
    if not isinstance(update, Update):
        logger.error("bot failure outside an update", exc_info=error)
        return
    if isinstance(error, SportelloError):
        logger.info("update %s refused: %s", update.update_id, error.code.code)
        text = escape(error.detail)
    else:
        logger.error("update %s failed", update.update_id, exc_info=error)
        text = context.texts.html("error")
    with contextlib.suppress(TelegramError):
        if update.callback_query is not None:
            await update.callback_query.answer()
        if update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, text)
