"""7. Privacy on Telegram: a person chats, books through the real bot, then /cancella_dati.
Afterwards no table holds their chat id or anything they wrote, and no log line at INFO ever
carried either."""

from __future__ import annotations

import logging

import pytest

from sportello.channels.telegram.bot import running_bot
from sportello.config import Settings
from sportello.services import Services
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.desk.factory import World
from tests.trust.conftest import Cases
from tests.trust.test_privacy import personal, rows_with

pytestmark = [pytest.mark.anyio, pytest.mark.trust("privacy")]
CHAT = 987_654_321
NAME = "Ermenegilda Pettirosso"
CASE = f"Sono {NAME}, tesoriera di una APS di Fermo: dubbi sul 5 per mille del 2026."


async def test_telegram_erasure_and_logs(
    api: FakeBotApi,
    settings: Settings,
    services: Services,
    world: World,
    caplog: pytest.LogCaptureFixture,
    cases: Cases,
) -> None:
    caplog.set_level(logging.INFO)
    async with running_bot(settings, services):
        api.send_text(CHAT, f"Buongiorno, sono {NAME}: come si iscrive un ente al 5 per mille?")
        await api.wait_message(CHAT)  # an answer, or the offer of an expert
        api.send_text(CHAT, "/prenota")
        topics = await api.wait_message(CHAT, "tema")
        api.press(
            CHAT,
            topics,
            next(d for _, d in topics.buttons() if d.endswith(":fiscale") or d == "ho:topic:yes"),
        )
        await api.wait_message(CHAT, "Descrivi")
        api.send_text(CHAT, CASE)
        slots = await api.wait_message(CHAT, "orari liberi")
        api.press(CHAT, slots, next(d for _, d in slots.buttons() if d.startswith("ho:slot:")))
        confirm = await api.wait_message(CHAT, "Confermi")
        api.press(CHAT, confirm, "ho:confirm:yes")
        await api.wait_message(CHAT, "prenotato")
        await api.wait_message(CHAT, "Appuntamento confermato")
        needles = [str(CHAT), NAME.split()[1]]
        assert rows_with(services.engine, needles), "the test should have stored something"
        count = len(api.messages(CHAT))
        api.send_text(CHAT, "/cancella_dati")
        ask = await api.wait_message(CHAT, "Vuoi cancellare i tuoi dati?", after=count)
        api.press(CHAT, ask, "er:yes")
        await api.wait_message(CHAT, "ho cancellato i tuoi dati", after=count)
    cases.add(len(needles))
    assert rows_with(services.engine, needles) == []
    cases.add(len(caplog.records))
    assert personal(caplog.records, [*needles, "5 per mille", "tesoriera"]) == []
