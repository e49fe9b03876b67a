"""A real SMTP server on a loopback port (aiosmtpd) that keeps what it received."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from tests.conftest import make_settings
from tests.desk.factory import World, build_world


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Inbox:
    """The aiosmtpd handler: refuses the addresses in `refuse` (550), keeps the rest."""

    received: list[tuple[list[str], bytes]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        raw = envelope.original_content or envelope.content
        self.received.append((list(envelope.rcpt_tos), bytes(raw)))
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for _, raw in self.received
        ]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages() if m["To"] == address]


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port(), Inbox())
    server.start()
    yield server
    server.stop()


def mail_settings(base: Settings, port: int) -> Settings:
    return base.model_copy(
        update={
            "email_smtp_host": "127.0.0.1",
            "email_smtp_port": port,
            "email_smtp_security": "none",
            "email_smtp_timeout": 5.0,
            "email_from_address": "sportello@csv.example.org",
            "email_reply_to": "staff@csv.example.org",
            "email_console_url": "https://sportello.example.org/",
            "email_link_secret": SecretStr("test-secret-for-chat-links"),
        }
    )


@pytest.fixture
def db_settings(tmp_path: Path) -> Settings:
    """SQLite only here: the outbox queries these tests go through run on both backends in
    tests/desk; what is tested here is the mail."""
    return make_settings(tmp_path)


@pytest.fixture
def world(sessions: sessionmaker[Session]) -> World:
    with sessions.begin() as session:
        return build_world(session)
