"""Delivering the desk outbox to web volunteers: the web is read by polling, so "sending" a
message means putting it in the person's thread, where the chat page shows it.

An expert's written reply is already in the thread (the desk stores it with the reply), so it
is only marked delivered; other messages (confirmation, cancellation, closure, reminders) are
added once as notices, keyed by the outbox row's idempotency key.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sportello.conversations import reading
from sportello.conversations.models import Channel, Conversation
from sportello.desk import notifications, tickets
from sportello.desk.models import OutboxKind
from sportello.desk.schemas import Delivery
from sportello.periodic import running_every
from sportello.services import Services

logger = logging.getLogger(__name__)


def make_sender(svc: Services) -> notifications.Sender:
    def send(delivery: Delivery) -> None:
        if delivery.kind == OutboxKind.EXPERT_REPLY:
            return
        with svc.sessions.begin() as session:
            conversation: Conversation | None = None
            code = delivery.payload.get("ticket_code")
            if isinstance(code, str):
                ticket = tickets.ticket_by_code(code, session=session)
                if ticket is not None and ticket.conversation_id is not None:
                    conversation = session.get(Conversation, ticket.conversation_id)
            if conversation is None and delivery.recipient:
                conversation = reading.own_conversation(
                    session=session, channel=Channel.WEB, external_ref=delivery.recipient
                )
            if conversation is None:
                logger.info("web outbox %s: no conversation left (erased)", delivery.id)
                return
            reading.record_notice(
                session=session,
                conversation=conversation,
                key=delivery.idempotency_key,
                text=delivery.body,
            )

    return send


def deliver_now(svc: Services) -> int:
    """Deliver every pending web message once; returns how many were sent."""
    report = notifications.deliver_pending(
        {Channel.WEB.value: make_sender(svc)},
        session_factory=svc.sessions,
        settings=svc.settings,
        clock=svc.clock,
    )
    return report.sent


@asynccontextmanager
async def running(svc: Services) -> AsyncIterator[None]:
    """Deliver web messages every `web_poll_seconds` while the app runs."""
    async with running_every("web-outbox", svc.settings.web_poll_seconds, lambda: deliver_now(svc)):
        yield
