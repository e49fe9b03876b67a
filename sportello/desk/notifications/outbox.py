"""Transactional outbox: rows written with the change that causes them, delivered at least once.

`deliver_pending` claims rows (status `sending` with a lease), calls the channel's sender, then
marks them sent. A crash between send and mark leaves the row claimed; once the lease runs out
it is claimed and sent again with the same idempotency key, which the channel uses to drop the
repeat — so the person receives it exactly once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from sportello.clock import Clock
from sportello.config import Settings
from sportello.desk.models import (
    Expert,
    NewTicketMail,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Ticket,
)
from sportello.desk.notifications import queries
from sportello.desk.schemas import Delivery, DeliveryReport

logger = logging.getLogger(__name__)

Sender = Callable[[Delivery], None]

EMAIL = "email"
TELEGRAM = "telegram"


Address = tuple[str, str | None]


class Undeliverable(Exception):  # noqa: N818 - a reason, not a crash
    """The channel refused the message for good (a rejected address): park it, do not retry."""


class ExpertNews(StrEnum):
    """What the desk tells an expert, as the e-mail preferences name it."""

    NEW_TICKET = "new_ticket"
    BOOKING = "booking"  # booked, moved, cancelled, reminders
    MESSAGE = "message"  # a volunteer wrote again on the expert's ticket


def volunteer_address(ticket: Ticket) -> Address:
    """The channel and address the volunteer wrote from."""
    return ticket.channel, ticket.volunteer_ref


def volunteer_email_address(email: str) -> Address:
    """A web volunteer who left an e-mail address (issue 17, item 3: the next step)."""
    return EMAIL, email


def expert_address(expert: Expert) -> Address:
    """Telegram when the expert linked a chat, otherwise their e-mail/phone contact."""
    if expert.telegram_chat_id:
        return TELEGRAM, expert.telegram_chat_id
    return EMAIL, expert.contact or None


def wants_email(expert: Expert, news: ExpertNews) -> bool:
    """The expert gave an e-mail address and asked for this kind of news there (now)."""
    if not expert.email:
        return False
    if news is ExpertNews.NEW_TICKET:
        return expert.email_new_tickets == NewTicketMail.IMMEDIATE
    if news is ExpertNews.BOOKING:
        return bool(expert.email_bookings)
    return bool(expert.email_messages)


def expert_addresses(expert: Expert, news: ExpertNews) -> list[Address]:
    """Where one piece of news for an expert goes: their Telegram chat if linked, their
    e-mail address if they want this kind there. An expert who never gave an e-mail address
    keeps the old route (their contact), so nothing changes for them."""
    if not expert.email:
        return [expert_address(expert)]
    out: list[Address] = []
    if expert.telegram_chat_id:
        out.append((TELEGRAM, expert.telegram_chat_id))
    if wants_email(expert, news):
        out.append((EMAIL, expert.email))
    return out


def enqueue(
    session: Session,
    *,
    kind: OutboxKind,
    address: Address,
    text: tuple[str, str],
    ticket_id: int | None,
    booking_id: int | None = None,
    payload: Mapping[str, Any] | None = None,
    now: datetime,
) -> OutboxMessage:
    """Add one message to the caller's transaction (it is sent only if that commits)."""
    channel, recipient = address
    subject, body = text
    row = OutboxMessage(
        kind=kind,
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
        ticket_id=ticket_id,
        booking_id=booking_id,
        payload=dict(payload or {}),
        status=OutboxStatus.PENDING,
        available_at=now,
        created_at=now,
    )
    session.add(row)
    return row


def enqueue_once(
    session: Session,
    *,
    key: str,
    kind: OutboxKind,
    address: Address,
    text: tuple[str, str],
    ticket_id: int | None,
    booking_id: int | None,
    payload: Mapping[str, Any] | None = None,
    now: datetime,
) -> bool:
    """Add a message unless one with `key` was ever queued (reminders); True if added."""
    channel, recipient = address
    subject, body = text
    return queries.insert_outbox_once(
        session,
        {
            "idempotency_key": key,
            "kind": kind,
            "channel": channel,
            "recipient": recipient,
            "subject": subject,
            "body": body,
            "ticket_id": ticket_id,
            "booking_id": booking_id,
            "payload": dict(payload or {}),
            "status": OutboxStatus.PENDING,
            "available_at": now,
            "created_at": now,
            "attempts": 0,
        },
    )


def _delivery(row: OutboxMessage) -> Delivery:
    return Delivery(
        id=row.id,
        idempotency_key=row.idempotency_key,
        channel=row.channel,
        recipient=row.recipient,
        kind=row.kind,
        subject=row.subject,
        body=row.body,
        payload=dict(row.payload),
        attempt=row.attempts,
        ticket_id=row.ticket_id,
    )


def _backoff(attempt: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempt - 1, 0), 3600))


def deliver_pending(
    sender: Sender | Mapping[str, Sender],
    *,
    session_factory: sessionmaker[Session],
    settings: Settings,
    clock: Clock,
    batch_size: int = 20,
    max_messages: int | None = None,
) -> DeliveryReport:
    """Send every deliverable message once, through `sender` (one callable, or one per channel).

    Each claim, and each mark, is its own short transaction: no lock is held while a channel
    talks to the network. A sender that raises an `Exception` gets the row back with a backoff
    (parked as failed after `desk_outbox_max_attempts`); anything harsher (the process dying)
    leaves the claim to expire and the row to be sent again.
    """
    routes: Mapping[str, Sender] | None = sender if isinstance(sender, Mapping) else None
    channels = list(routes) if routes is not None else None
    lease = timedelta(seconds=settings.desk_outbox_lease_seconds)
    report = DeliveryReport()
    seen: set[int] = set()
    while max_messages is None or len(seen) < max_messages:
        token = str(uuid.uuid4())
        moment = clock.now()
        limit = batch_size if max_messages is None else min(batch_size, max_messages - len(seen))
        with session_factory.begin() as session:
            rows = queries.claim_outbox(
                session,
                now=moment,
                lease_until=moment + lease,
                token=token,
                limit=limit,
                channels=channels,
                skip_ids=seen,
            )
            deliveries = [_delivery(row) for row in rows]
        if not deliveries:
            break
        for delivery in deliveries:
            seen.add(delivery.id)
            send = routes[delivery.channel] if routes is not None else sender
            try:
                send(delivery)  # type: ignore[operator]
            except Exception as exc:  # the channel failed: retry later, never lose it
                _release(session_factory, delivery, token, exc, clock.now(), settings, report)
                continue
            with session_factory.begin() as session:
                queries.finish_outbox(
                    session,
                    delivery.id,
                    token,
                    {
                        "status": OutboxStatus.SENT,
                        "sent_at": clock.now(),
                        "claim_token": None,
                        "claimed_until": None,
                        "last_error": None,
                    },
                )
            report.sent += 1
    return report


def _release(
    session_factory: sessionmaker[Session],
    delivery: Delivery,
    token: str,
    exc: Exception,
    moment: datetime,
    settings: Settings,
    report: DeliveryReport,
) -> None:
    parked = isinstance(exc, Undeliverable) or delivery.attempt >= settings.desk_outbox_max_attempts
    logger.warning(
        "outbox %s via %s failed (attempt %s%s): %s",
        delivery.id,
        delivery.channel,
        delivery.attempt,
        ", parked" if parked else "",
        type(exc).__name__,
    )
    values: dict[str, Any] = {
        "status": OutboxStatus.FAILED if parked else OutboxStatus.PENDING,
        "available_at": moment + _backoff(delivery.attempt),
        "claim_token": None,
        "claimed_until": None,
        "last_error": repr(exc)[:2000],
    }
    with session_factory.begin() as session:
        queries.finish_outbox(session, delivery.id, token, values)
    if parked:
        report.failed += 1
    else:
        report.retried += 1
