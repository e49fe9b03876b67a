"""The bot's own bookkeeping: Telegram update ids already handled (so a redelivery is answered
once), pruned after a while. Everything a person does goes through `sportello.usecases`."""

from __future__ import annotations

from datetime import timedelta

from sportello.channels.telegram import queries
from sportello.conversations.models import Channel
from sportello.services import Services
from sportello.usecases.results import Volunteer

KEEP_UPDATE_IDS = timedelta(days=2)


def volunteer(chat_ref: str) -> Volunteer:
    """The person behind a private chat: the chat id as text is the conversation's
    `external_ref` and the tickets' `volunteer_ref`."""
    return Volunteer(Channel.TELEGRAM, chat_ref)


def claim_update(services: Services, update_id: int) -> bool:
    """Record an update as handled; False if Telegram delivered it before."""
    with services.sessions.begin() as session:
        return queries.claim_update(session, update_id, services.clock.now())


def prune(services: Services) -> None:
    with services.sessions.begin() as session:
        queries.prune(session, services.clock.now() - KEEP_UPDATE_IDS)
