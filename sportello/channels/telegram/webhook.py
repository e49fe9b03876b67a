"""The webhook route: Telegram posts updates here when `telegram_webhook_url` is set.

Telegram sends the secret given to setWebhook in `X-Telegram-Bot-Api-Secret-Token`; a request
without it, or with another one, gets 403 and its update is never processed.
"""

from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, Header, HTTPException, Request, Response
from telegram import Update

from sportello.channels.telegram.context import BotApplication

logger = logging.getLogger(__name__)
router = APIRouter()
WEBHOOK_PATH = "/telegram/webhook"


def secret_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison; an empty expected secret never matches."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@router.post(WEBHOOK_PATH, include_in_schema=False)
async def telegram_webhook(
    request: Request,
    x_telegram_bot_api_secret_token: str | None = Header(default=None),
) -> Response:
    """Check the secret token, then queue the update for the bot."""
    application: BotApplication | None = getattr(request.app.state, "telegram", None)
    if application is None or application.updater is not None:  # no bot, or polling
        raise HTTPException(status_code=404)
    settings = application.bot_data.runtime.settings
    expected = settings.telegram_webhook_secret.get_secret_value()
    if not secret_matches(expected, x_telegram_bot_api_secret_token):
        logger.warning("telegram webhook: request with a wrong or missing secret refused")
        raise HTTPException(status_code=403)
    try:
        data = await request.json()
        update = Update.de_json(data, application.bot)
    except (ValueError, TypeError, KeyError) as exc:
        raise HTTPException(status_code=400, detail="update non valido") from exc
    await application.update_queue.put(update)
    return Response(status_code=200)
