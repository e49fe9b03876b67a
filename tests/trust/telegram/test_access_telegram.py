"""4. Access control on Telegram: the webhook secret, and buttons nobody sent.

The webhook's secret checks live in tests/channels/telegram/test_webhook.py and are imported
here. Added: callback data is only text a client chooses, so a forged button ("cancel
booking 12", "I take ticket SPT-…", "rate ticket …", "vote on message 3") from a chat that
does not own the object must change nothing.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from sqlalchemy import select

from sportello.channels.telegram.bot import running_bot
from sportello.config import Settings
from sportello.conversations.models import Feedback, Message, Role
from sportello.desk import tickets
from sportello.desk.handover import people
from sportello.desk.models import Booking, BookingStatus, Ticket, TicketStatus
from sportello.services import Services
from tests.channels.telegram.fake_bot_api import FakeBotApi
from tests.channels.telegram.test_webhook import (  # noqa: F401 - re-run under this category
    test_secret_comparison,
    test_webhook_rejects_a_wrong_or_missing_secret,
)
from tests.desk.factory import World, first_offer
from tests.desk.test_people import book_for
from tests.trust.conftest import Cases

pytestmark = [pytest.mark.anyio, pytest.mark.trust("access")]
OWNER, MALLORY = 7001, 7002
_ids = itertools.count(900_001)


def forged(api: FakeBotApi, chat_id: int, data: str) -> dict[str, Any]:
    """A callback query as Telegram would deliver it, for a button the bot never sent."""
    message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": "M"},
        "from": {"id": 999_000, "is_bot": True, "first_name": "Sportello"},
        "text": "…",
    }
    update = {
        "update_id": next(_ids),
        "callback_query": {
            "id": str(next(_ids)),
            "from": {"id": chat_id, "is_bot": False, "first_name": "M"},
            "chat_instance": f"ci-{chat_id}",
            "data": data,
            "message": message,
        },
    }
    return api.push(update)


async def test_forged_buttons_change_nothing(
    api: FakeBotApi, settings: Settings, services: Services, world: World, cases: Cases
) -> None:
    with services.sessions.begin() as session:
        booking = book_for(session, settings, ref=str(OWNER))
        booking_id, ticket_id, code = booking.id, booking.ticket_id, booking.ticket.code
        other = tickets.open_ticket(
            None,
            "fiscale",
            "Un'altra richiesta.",
            session=session,
            settings=settings,
            channel="telegram",
            volunteer_ref=str(OWNER),
            now=services.clock.now(),
        )
        offer = first_offer(session, settings)
        closed = tickets.claim(other.id, world.fiscal, session=session, now=services.clock.now())
        tickets.close(
            closed.id, "fatto", session=session, settings=settings, now=services.clock.now()
        )
        closed_code = closed.code
        conversation_id = booking.ticket.conversation_id
        reply = Message(conversation_id=conversation_id, role=Role.ASSISTANT, text="Risposta.")
        session.add(reply)
        session.flush()
        reply_id = reply.id
    assert offer
    attempts = [
        f"bk:yes:{booking_id}",
        f"bk:move:{booking_id}",
        f"bk:ask:{booking_id}",
        f"cl:{code}",
        f"rt:{closed_code}:1",
        f"fb:{reply_id}:-1",
        "ho:confirm:yes",
        f"ho:slot:{offer.slot_id}",
        "er:yes",  # erases Mallory's own (empty) data, never the owner's
    ]
    async with running_bot(settings, services):
        for data in attempts:
            cases.add()
            before = len(api.messages(MALLORY))
            forged(api, MALLORY, data)
            await api.wait_for(lambda b=before: len(api.messages(MALLORY)) > b)
    with services.sessions.begin() as session:
        kept = session.get(Booking, booking_id)
        assert kept is not None and kept.status == BookingStatus.ACTIVE
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.volunteer_ref == str(OWNER)
        assert ticket.status == TicketStatus.SCHEDULED and ticket.assigned_expert_id != 0
        assert session.scalars(select(Feedback)).all() == []
        assert session.get(Message, reply_id) is not None
        assert people.appointments(
            "telegram", str(OWNER), session=session, settings=settings, now=services.clock.now()
        )
        closed_ticket = session.scalar(select(Ticket).where(Ticket.code == closed_code))
        assert closed_ticket is not None
        assert all("satisfaction" not in e.detail for e in closed_ticket.events)
