"""The bot's own bookkeeping: Telegram update ids already handled (so a redelivery is answered
once), pruned after a while. Everything a person does goes through `sportello.usecases`."""

from __future__ import annotations

from datetime import timedelta

from sportello.channels.telegram import queries
from sportello.conversations.models import Channel
from sportello.services import Services
from sportello.usecases import limits
from sportello.usecases.results import Volunteer

KEEP_UPDATE_IDS = timedelta(days=2)


def volunteer(chat_ref: str) -> Volunteer:
    """The person behind a private chat: the chat id as text is the conversation's
    `external_ref` and the tickets' `volunteer_ref`."""
    return Volunteer(Channel.TELEGRAM, chat_ref)


def claim_update(services: Services, update_id: int, chat_ref: str | None = None) -> bool:
    """Record an update as handled; False if Telegram delivered it before. With the chat it
    came from, a fresh update is also counted against that chat's rate limit, in the same
    transaction (one unit of work per update, as the web counts a message where it stores it).

    Raises limits.RateLimited when the chat writes too fast: the update stays claimed (it was
    handled, by slowing the chat down) and nothing else is written."""
    with services.sessions.begin() as session:
        if not queries.claim_update(session, update_id, services.clock.now()):
            return False
        if chat_ref is None:
            return True
        who = volunteer(chat_ref)
        refusal = limits.count(services, who, limits.Admission(), session=session)
    if refusal is not None:
        raise limits.refused(who, refusal)
    return True


def prune(services: Services) -> None:
    with services.sessions.begin() as session:
        queries.prune(session, services.clock.now() - KEEP_UPDATE_IDS)
