"""Signed, expiring links that reopen a web volunteer's chat from an e-mail (one more browser).

A link names a ticket and an expiry, signed with HMAC-SHA256 under `email_link_secret`. Opened
in the browser the person chatted from, it simply reopens the chat; opened in another browser
(the phone's mail app), it binds that browser on first use — the ticket remembers which — and
refuses every other browser after that. It only ever opens the ticket owner's own chat.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sportello.config import Settings
from sportello.conversations.models import Channel
from sportello.desk import tickets
from sportello.desk.models import Ticket
from sportello.errors import ErrorCode, SportelloError
from sportello.services import Services


def _signature(secret: str, ticket_id: int, expires: int) -> str:
    mac = hmac.new(secret.encode(), f"chat-link:{ticket_id}:{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")


def _secret(settings: Settings) -> str:
    secret = settings.email_link_secret.get_secret_value()
    if not secret:
        raise SportelloError(ErrorCode.NOT_FOUND, "chat_link_invalid")
    return secret


def sign(settings: Settings, ticket_id: int, now: datetime) -> str:
    """The token for a ticket's chat link, valid `email_link_days` from `now`."""
    expires = int((now + timedelta(days=settings.email_link_days)).timestamp())
    return f"{ticket_id}.{expires}.{_signature(_secret(settings), ticket_id, expires)}"


def url(settings: Settings, ticket_id: int, now: datetime) -> str:
    """The full link (under the app's public URL) that goes into the volunteer's e-mail."""
    base = settings.email_console_url.rstrip("/")
    return f"{base}/chat/link/{sign(settings, ticket_id, now)}"


def verify(settings: Settings, token: str, now: datetime) -> int:
    """The ticket id of a genuine, unexpired token; SportelloError otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or not (parts[0].isdigit() and parts[1].isdigit()) or len(token) > 120:
        raise SportelloError(ErrorCode.NOT_FOUND, "chat_link_invalid")
    ticket_id, expires = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(parts[2], _signature(_secret(settings), ticket_id, expires)):
        raise SportelloError(ErrorCode.NOT_FOUND, "chat_link_invalid")
    if now.timestamp() > expires:
        raise SportelloError(ErrorCode.FORBIDDEN, "chat_link_expired")
    return ticket_id


@dataclass(frozen=True)
class ChatReopened:
    """Whose chat the browser now shows (`owner_ref`), and whether it is another browser."""

    owner_ref: str
    other_browser: bool


def open_chat(svc: Services, token: str, browser_ref: str) -> ChatReopened:
    """Follow a mailed link from the browser known by `browser_ref` (its own chat cookie)."""
    ticket_id = verify(svc.settings, token, svc.clock.now())
    with svc.sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        if (
            ticket is None
            or ticket.channel != Channel.WEB
            or not ticket.volunteer_ref
            or not ticket.volunteer_email  # erased, anonymised, or the address was never given
        ):
            raise SportelloError(ErrorCode.NOT_FOUND, "chat_link_invalid")
        owner = ticket.volunteer_ref
        if browser_ref == owner:
            return ChatReopened(owner, other_browser=False)
        bound = ticket.chat_link_ref == browser_ref or tickets.bind_chat_link(
            session, ticket.id, browser_ref
        )
        if not bound:
            raise SportelloError(ErrorCode.FORBIDDEN, "chat_link_taken")
        return ChatReopened(owner, other_browser=True)
