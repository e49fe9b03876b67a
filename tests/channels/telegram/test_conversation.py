"""The bot answering questions: sources and buttons, feedback, robustness at the edge."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sportello.channels.telegram.bot import running_bot
from sportello.channels.telegram.models import TelegramUpdate
from sportello.clock import FrozenClock
from sportello.config import Settings
from sportello.conversations.models import Conversation, Feedback, Message, Role
from sportello.services import Services
from tests.channels.telegram.conftest import TOKEN, bot_settings
from tests.channels.telegram.fake_bot_api import FakeBotApi

pytestmark = pytest.mark.anyio
CHAT = 4242
QUESTION = "Come si iscrive un'associazione al 5 per mille?"


async def test_question_gets_an_answer_with_sources_and_buttons(
    api: FakeBotApi, settings: Settings, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_bot(settings, services):
        commands = await api.wait_for(lambda: api.of("setMyCommands"))
        menu = {c["command"]: c["description"] for c in commands[0].params["commands"]}
        assert menu["cancella_dati"] == "Cancella i miei dati" and len(menu) == 8
        api.send_text(CHAT, "/start")
        welcome = await api.wait_message(CHAT, "Ciao, sono Sportello")
        assert "Privacy" in welcome.text
        assert '<a href="https://sportello.example.org/privacy">' in welcome.text
        api.send_text(CHAT, QUESTION)
        answer = await api.wait_message(CHAT, "<b>Fonti</b>")
    assert answer.params["parse_mode"] == "HTML"
    assert '[1] <a href="https://' in answer.text
    data = [d for _, d in answer.buttons()]
    assert data[:2] == [d for d in data if d.startswith("fb:")] and len(data) >= 4
    assert any(d.startswith("ex:") for d in data) and any(d.startswith("sq:") for d in data)
    typing = [c for c in api.of("sendChatAction") if c.params["action"] == "typing"]
    assert typing and typing[0].at <= answer.at
    with services.sessions.begin() as session:
        conversation = session.scalar(
            select(Conversation).where(Conversation.external_ref == str(CHAT))
        )
        assert conversation is not None
        roles = [m.role for m in conversation.messages]
        assert roles == [Role.USER, Role.ASSISTANT]
    # The token is in every Bot API URL: it must never reach the logs.
    assert caplog.records and TOKEN not in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text


async def test_feedback_is_stored_and_suggestions_are_asked(
    api: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with running_bot(settings, services):
        api.send_text(CHAT, QUESTION)
        answer = await api.wait_message(CHAT, "Fonti")
        down = next(d for _, d in answer.buttons() if d.endswith(":-1"))
        api.press(CHAT, answer, down)
        edit = await api.wait_for(lambda: api.of("editMessageReplyMarkup"))
        assert not any(d.startswith("fb:") for d in _buttons(edit[0]))
        ack = await api.wait_for(lambda: api.of("answerCallbackQuery"))
        assert "staff" in ack[0].params.get("text", "")
        label, suggestion = next((lbl, d) for lbl, d in answer.buttons() if d.startswith("sq:"))
        count = len(api.messages(CHAT))
        api.press(CHAT, answer, suggestion)
        echoed = await api.wait_message(CHAT, "❓", after=count)
        assert label in echoed.plain
        await api.wait_message(CHAT, "Fonti", after=count + 1)
    message_id = int(down.split(":")[1])
    with services.sessions.begin() as session:
        feedback = session.scalar(select(Feedback).where(Feedback.message_id == message_id))
        assert feedback is not None and feedback.value == -1
        asked = session.scalars(select(Message.text).where(Message.role == Role.USER)).all()
        assert label in asked


def _buttons(call: object) -> list[str]:
    markup = getattr(call, "params", {}).get("reply_markup") or {}
    return [b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row]


async def test_duplicate_update_is_answered_once(
    api: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with running_bot(settings, services):
        update = api.send_text(CHAT, "/aiuto")
        await api.wait_message(CHAT, "Come funziono")
        api.push(update, redeliver=True)  # Telegram delivers the same update again
        await api.wait_for(lambda: not api._queue)
        api.send_text(CHAT, "/privacy")
        await api.wait_message(CHAT, "Privacy")
    assert len([c for c in api.messages(CHAT) if "Come funziono" in c.text]) == 1
    assert sum(1 for c in api.of("getUpdates")) >= 2
    with services.sessions.begin() as session:
        seen = session.scalar(select(func.count()).select_from(TelegramUpdate))
        assert seen == 2


async def test_429_retry_after_is_honoured(
    api: FakeBotApi, settings: Settings, services: Services
) -> None:
    async with running_bot(settings, services):
        api.fail_next("sendMessage", 429, retry_after=1)
        api.send_text(CHAT, "/aiuto")
        await api.wait_message(CHAT, "Come funziono")
    attempts = [c for c in api.of("sendMessage") if c.chat_id == CHAT]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0  # waited as told, then sent once


def claimed(services: Services) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(TelegramUpdate)) or 0)


async def test_media_and_flood_get_polite_answers(
    api: FakeBotApi, tmp_path: Path, services: Services
) -> None:
    """The volunteers' rate limit (the web chat's too): 3 in a row, told once per window, the
    refused messages neither answered nor stored; a quiet window gives the allowance back."""
    settings = bot_settings(tmp_path, api, rate_limit_messages=3, rate_limit_seconds=60)
    services = replace(services, settings=settings)
    clock = services.clock
    assert isinstance(clock, FrozenClock)

    def count(snippet: str) -> int:
        return sum(snippet in c.text for c in api.messages(CHAT))

    async with running_bot(settings, services):
        api.send_photo(CHAT)
        await api.wait_message(CHAT, "solo messaggi di testo")
        api.send_text(CHAT, "/aiuto")
        api.send_text(CHAT, "/aiuto")  # the photo was the 1st of 3 allowed in the window
        api.send_text(CHAT, QUESTION)  # one chat's updates run in order: this is the 4th
        told = await api.wait_message(CHAT, "molto velocemente")
        assert "aspetta 20 secondi" in told.text  # 60 s / 3: the next place frees up in 20 s
        with services.sessions() as session:
            stored = list(session.scalars(select(Message.text).where(Message.role == Role.USER)))
        assert QUESTION not in stored  # refused: neither answered nor stored
        clock.advance(timedelta(seconds=60))  # a quiet window: the whole allowance is back
        for _ in range(4):
            api.send_text(CHAT, "/aiuto")
        await api.wait_for(lambda: count("molto velocemente") == 2)  # a new window: told again
        for _ in range(3):  # refused again, silently: telling every one would feed the flood
            api.send_text(CHAT, "/aiuto")
        await api.wait_for(lambda: claimed(services) == 11)
        await api.wait_for(lambda: not api._queue)
    assert count("Come funziono") == 2 + 3
    assert count("molto velocemente") == 2
