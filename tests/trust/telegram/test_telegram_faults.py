"""6. Telegram failing: the Bot API answers 502 Bad Gateway, or does not answer in time.

The desk outbox sends through the real bot (python-telegram-bot over HTTP to the fake Bot API
server) with a clock of our own: a failed row waits its backoff (30 s, then 60 s…), is not
sent before, is sent after, and reaches the person exactly once. Nothing is lost.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from sportello.channels.telegram.bot import build_bot
from sportello.channels.telegram.outbox import TelegramSender
from sportello.config import Settings
from sportello.desk import tickets
from sportello.desk.models import OutboxMessage, OutboxStatus
from sportello.desk.notifications.outbox import TELEGRAM, deliver_pending
from sportello.desk.schemas import DeliveryReport
from sportello.services import Services
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.desk.factory import World, open_ticket
from tests.trust.conftest import Cases

pytestmark = [pytest.mark.anyio, pytest.mark.trust("faults")]
CHAT = 8080
REPLY = "Per il 5 per mille serve l'iscrizione al RUNTS entro il 10 aprile."
PTB_READ_TIMEOUT = 5.0  # python-telegram-bot's default: a slower answer is a timeout


def rows(services: Services) -> list[OutboxMessage]:
    with services.sessions.begin() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.channel == TELEGRAM, OutboxMessage.recipient == str(CHAT))
                .order_by(OutboxMessage.id)
            )
        )


async def test_bad_gateway_and_timeouts_are_retried_with_backoff_and_nothing_is_lost(
    api: FakeBotApi, settings: Settings, services: Services, world: World, cases: Cases
) -> None:
    with services.sessions.begin() as session:
        # "volontari": its expert has no Telegram chat, so only the person's rows go there.
        ticket = open_ticket(
            session, settings, topic="volontari", now=services.clock.now(), ref=str(CHAT)
        )
        tickets.claim(ticket.id, world.volunteers, session=session, now=services.clock.now())
        tickets.reply(ticket.id, world.volunteers, REPLY, session=session, now=services.clock.now())
        tickets.close(
            ticket.id, "Risposto.", session=session, settings=settings, now=services.clock.now()
        )
    queued = rows(services)
    assert len(queued) == 2  # the expert's reply, then the closure with its rating question
    clock = services.clock  # frozen: the test moves it past each backoff
    application = build_bot(settings, services)
    async with application:  # the bot's HTTP client, without polling or the outbox loop

        async def deliver() -> DeliveryReport:
            sender = TelegramSender(application, asyncio.get_running_loop())
            return await asyncio.to_thread(
                deliver_pending,
                {TELEGRAM: sender},
                session_factory=services.sessions,
                settings=settings,
                clock=clock,
            )

        api.fail_next("sendMessage", 502)
        api.fail_next("sendMessage", 504, delay=PTB_READ_TIMEOUT + 1)  # no answer in time
        first = await deliver()
        assert (first.sent, first.retried) == (0, 2), first
        for row in rows(services):
            cases.add()
            assert row.status == OutboxStatus.PENDING and row.attempts == 1
            assert row.available_at == clock.now() + timedelta(seconds=30)
            assert row.last_error and ("Bad Gateway" in row.last_error or "Timed" in row.last_error)
        clock.advance(timedelta(seconds=20))  # before the backoff ends: nothing is tried
        calls = len(api.of("sendMessage"))
        assert (await deliver()).sent == 0 and len(api.of("sendMessage")) == calls
        api.fail_next("sendMessage", 502)  # the retry of the first row fails again
        clock.advance(timedelta(seconds=11))
        second = await deliver()
        assert (second.sent, second.retried) == (1, 1), second
        again = next(r for r in rows(services) if r.status == OutboxStatus.PENDING)
        assert again.attempts == 2 and again.available_at == clock.now() + timedelta(seconds=60)
        clock.advance(timedelta(seconds=61))
        assert (await deliver()).sent == 1
    delivered = [c for c in api.messages(CHAT)]
    texts = [c.plain for c in delivered]
    assert sum(REPLY in t for t in texts) == 1, texts  # exactly once
    assert sum("Come valuti" in t or "chius" in t.lower() for t in texts) == 1, texts
    assert all(r.status == OutboxStatus.SENT for r in rows(services))
