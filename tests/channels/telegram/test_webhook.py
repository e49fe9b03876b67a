"""Webhook mode inside the web app: the secret token is checked before anything happens."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from sportello.app import create_app
from sportello.channels.telegram.models import TelegramUpdate
from sportello.channels.telegram.webhook import WEBHOOK_PATH, secret_matches
from sportello.services import Services
from tests.channels.telegram.conftest import bot_settings
from tests.channels.telegram.fake_bot_api import Call, FakeBotApi
from tests.desk.factory import World

pytestmark = pytest.mark.anyio
CHAT = 6161
SECRET = "s3cret_webhook-token"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def test_secret_comparison() -> None:
    assert secret_matches(SECRET, SECRET)
    assert not secret_matches(SECRET, None)
    assert not secret_matches(SECRET, "")
    assert not secret_matches(SECRET, SECRET + "x")
    assert not secret_matches("", "")  # no secret configured: nothing is accepted


async def test_webhook_rejects_a_wrong_or_missing_secret(
    api: FakeBotApi, tmp_path: Path, services: Services
) -> None:
    settings = bot_settings(
        tmp_path,
        api,
        telegram_webhook_url="https://sportello.example.org/telegram/webhook",
        telegram_webhook_secret=SECRET,
    )
    services.settings = settings
    app = create_app(settings, services)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://sportello.test") as client,
    ):
        hook = await api.wait_for(lambda: api.of("setWebhook"))
        assert hook[0].params["url"] == settings.telegram_webhook_url
        assert hook[0].params["secret_token"] == SECRET
        assert not api.of("getUpdates") and not api.of("deleteWebhook")  # no polling

        first = api.user_message(CHAT, "/aiuto")
        missing = await client.post(WEBHOOK_PATH, json=first)
        wrong = await client.post(WEBHOOK_PATH, json=first, headers={SECRET_HEADER: "nope"})
        assert (missing.status_code, wrong.status_code) == (403, 403)

        good = await client.post(
            WEBHOOK_PATH, json=api.user_message(CHAT, "/privacy"), headers={SECRET_HEADER: SECRET}
        )
        assert good.status_code == 200
        await api.wait_message(CHAT, "Privacy")
        junk = await client.post(
            WEBHOOK_PATH, content=b"{not json", headers={SECRET_HEADER: SECRET}
        )
        assert junk.status_code == 400
    # The refused update was never processed: no answer, not even recorded as seen.
    assert not [c for c in api.messages(CHAT) if "Come funziono" in c.text]
    with services.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(TelegramUpdate)) == 1
        assert session.get(TelegramUpdate, first["update_id"]) is None


async def test_no_bot_without_a_token(tmp_path: Path, api: FakeBotApi, services: Services) -> None:
    settings = bot_settings(tmp_path, api, telegram_token="")
    services.settings = settings
    app = create_app(settings, services)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://sportello.test") as client,
    ):
        assert app.state.telegram is None
        response = await client.post(
            WEBHOOK_PATH, json={"update_id": 1}, headers={SECRET_HEADER: SECRET}
        )
        assert response.status_code == 404
    assert not api.calls


async def test_webhook_mode_carries_a_booking_inside_the_web_app(
    api: FakeBotApi, tmp_path: Path, services: Services, world: World
) -> None:
    """The production wiring: the bot in the web app's lifespan, with its listeners and jobs."""
    settings = bot_settings(
        tmp_path,
        api,
        telegram_webhook_url="https://sportello.example.org/telegram/webhook",
        telegram_webhook_secret=SECRET,
    )
    services.settings = settings
    app = create_app(settings, services)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://sportello.test") as client,
    ):

        async def post(update: dict[str, object]) -> None:
            response = await client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET})
            assert response.status_code == 200

        async def press(call: Call, prefix: str) -> None:
            data = next(d for _, d in call.buttons() if d.startswith(prefix))
            api.press(CHAT, call, data)
            await post(api._queue.pop()[0])

        await post(api.user_message(CHAT, "/prenota"))
        await press(await api.wait_message(CHAT, "Su quale tema"), "ho:topic:fiscale")
        await api.wait_message(CHAT, "Descrivi")
        await post(api.user_message(CHAT, "Siamo una APS: ci serve aiuto con il 5 per mille."))
        await press(await api.wait_message(CHAT, "orari liberi"), "ho:slot:")
        await press(await api.wait_message(CHAT, "Confermi"), "ho:confirm:yes")
        await api.wait_message(CHAT, "prenotato")
        await api.wait_for(lambda: [c for c in api.of("sendDocument") if c.chat_id == CHAT])
