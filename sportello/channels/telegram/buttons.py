"""Telegram button handlers (inline keyboards): parse the callback data, call one use case,
render the result; the shared sending helpers live in `handlers`."""

from __future__ import annotations

import asyncio
import contextlib

from telegram import Message, Update
from telegram.error import BadRequest

from sportello.channels.telegram import keyboards
from sportello.channels.telegram.context import BotContext
from sportello.channels.telegram.handlers import (
    answer_text,
    callback_parts,
    chat_of,
    drop_keyboard,
    expert_command,
    send,
    send_step,
)
from sportello.channels.telegram.render import escape
from sportello.usecases import console, volunteer
from sportello.usecases.results import HandoverAction


async def feedback_button(update: Update, context: BotContext) -> None:
    """Store 👍 / 👎 on a reply and take the thumbs away."""
    _, who = chat_of(update)
    _, (message_id, value) = callback_parts(update)
    await asyncio.to_thread(volunteer.feedback, context.services, who, int(message_id), int(value))
    query = update.callback_query
    assert query is not None
    await query.answer(context.texts.plain("feedback_up" if value == "1" else "feedback_down"))
    if isinstance(query.message, Message):
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(
                keyboards.without_feedback(query.message.reply_markup)
            )


async def expert_button(update: Update, context: BotContext) -> None:
    """Start the hand-over from a reply's "Parla con un esperto"."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    await expert_command(update, context)


async def suggestion_button(update: Update, context: BotContext) -> None:
    """Ask the suggested question written on the button."""
    query = update.callback_query
    assert query is not None and query.data is not None
    chat_id, _ = chat_of(update)
    markup = query.message.reply_markup if isinstance(query.message, Message) else None
    question = keyboards.button_label(markup, query.data)
    if question is None:
        await query.answer(context.texts.plain("suggestion_gone"))
        return
    await query.answer()
    await send(context, chat_id, f"❓ <i>{escape(question)}</i>")
    await answer_text(context, chat_id, question)


async def handover_button(update: Update, context: BotContext) -> None:
    """Apply a hand-over choice and show the next step."""
    query = update.callback_query
    assert query is not None and query.data is not None
    chat_id, who = chat_of(update)
    key = query.data.removeprefix("ho:")
    result = await asyncio.to_thread(
        volunteer.press, context.services, who, HandoverAction.parse(key)
    )
    await query.answer()
    await drop_keyboard(update)
    await send_step(context, chat_id, result)


async def booking_button(update: Update, context: BotContext) -> None:
    """Cancel (after confirmation) or move one of the person's appointments."""
    query = update.callback_query
    assert query is not None
    chat_id, who = chat_of(update)
    _, (action, raw_id) = callback_parts(update)
    booking_id, texts, services = int(raw_id), context.texts, context.services
    await query.answer()
    if action == "ask":
        found = await asyncio.to_thread(volunteer.appointments, services, who)
        details = next((a.details for a in found if a.booking_id == booking_id), "")
        await send(
            context,
            chat_id,
            texts.html("cancel_booking_confirm", details=details),
            keyboards.cancel_booking_keyboard(booking_id, texts),
        )
        return
    await drop_keyboard(update)
    if action == "move":
        result = await asyncio.to_thread(volunteer.move_appointment, services, who, booking_id)
        await send_step(context, chat_id, result)
    elif action == "yes":
        done = await asyncio.to_thread(volunteer.cancel_appointment, services, who, booking_id)
        await send(context, chat_id, texts.html("booking_cancelled", code=done.code))
        context.outbox_now()
    else:
        await send(context, chat_id, texts.html("booking_kept"))


async def erase_button(update: Update, context: BotContext) -> None:
    """Erase the person's data once they confirmed."""
    query = update.callback_query
    assert query is not None
    chat_id, who = chat_of(update)
    await query.answer()
    await drop_keyboard(update)
    if query.data != "er:yes":
        await send(context, chat_id, context.texts.html("erase_kept"))
        return
    done = await asyncio.to_thread(volunteer.erase, context.services, who)
    await send(
        context,
        chat_id,
        context.texts.html(
            "erased",
            conversations=done.conversations,
            messages=done.messages,
            tickets=done.tickets,
        ),
    )
    context.outbox_now()


async def rating_button(update: Update, context: BotContext) -> None:
    """Store the satisfaction score (1–5) of a closed request."""
    query = update.callback_query
    assert query is not None
    chat_id, who = chat_of(update)
    _, (code, score) = callback_parts(update)
    await asyncio.to_thread(volunteer.rate, context.services, who, code, int(score))
    await query.answer()
    await drop_keyboard(update)
    await send(context, chat_id, context.texts.html("rated", score=score))


async def claim_button(update: Update, context: BotContext) -> None:
    """Let an expert take a new ticket ("Prendo io")."""
    query = update.callback_query
    assert query is not None
    chat_id, who = chat_of(update)
    _, (code,) = callback_parts(update)
    claimed = await asyncio.to_thread(console.claim_from_chat, context.services, who.ref, code)
    await query.answer()
    await drop_keyboard(update)
    await send(context, chat_id, context.texts.html("claimed", code=claimed))
