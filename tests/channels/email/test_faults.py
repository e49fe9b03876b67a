"""E-mail faults: the server down for a while, a refused recipient, a process killed mid-send."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from sportello.channels.email.compose import message_id
from sportello.channels.email.sender import SmtpSender, deliver_email
from sportello.clock import FrozenClock
from sportello.config import PROJECT_ROOT, Settings
from sportello.desk.models import OutboxMessage, OutboxStatus
from sportello.desk.notifications.expert_mail import (
    MailPreferences,
    normalize_email,
    set_expert_email,
)
from sportello.desk.tickets import reports as queue
from sportello.errors import ErrorCode, SportelloError
from tests.channels.email.conftest import SmtpServer, mail_settings
from tests.desk.factory import NOW, World, open_ticket, outbox

FISCO = "fisco.mail@example.org"


@pytest.fixture
def mail(db_settings: Settings, smtp: SmtpServer) -> Settings:
    return mail_settings(db_settings, smtp.port)


def email_rows(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with sessions.begin() as s:
        return [r for r in outbox(s) if r.channel == "email"]


def test_server_down_then_back(
    sessions: sessionmaker[Session], mail: Settings, smtp: SmtpServer, world: World
) -> None:
    with sessions.begin() as s:
        set_expert_email("fisco", FISCO, MailPreferences(), session=s)
        open_ticket(s, mail)
    smtp.stop()
    clock = FrozenClock(NOW)
    sender = SmtpSender(mail, clock)
    down = deliver_email(sessions, mail, clock, sender)
    assert (down.sent, down.retried) == (0, 1)
    clock.advance(timedelta(minutes=1))
    assert deliver_email(sessions, mail, clock, sender).retried == 1  # still down
    (row,) = email_rows(sessions)
    assert row.status == OutboxStatus.PENDING and "Connection refused" in (row.last_error or "")
    smtp.start()
    assert deliver_email(sessions, mail, clock, sender).sent == 0  # waits for its backoff
    clock.advance(timedelta(minutes=2))
    assert deliver_email(sessions, mail, clock, sender).sent == 1
    (message,) = smtp.inbox.to(FISCO)
    (row,) = email_rows(sessions)
    assert row.status == OutboxStatus.SENT and row.attempts == 3
    assert message["Message-ID"] == message_id(row.idempotency_key, mail.email_from_address)


def test_parked_after_n_failures_shows_on_the_ticket(
    sessions: sessionmaker[Session], mail: Settings, smtp: SmtpServer, world: World
) -> None:
    settings = mail.model_copy(update={"desk_outbox_max_attempts": 2})
    with sessions.begin() as s:
        set_expert_email("fisco", FISCO, MailPreferences(), session=s)
        ticket_id = open_ticket(s, settings).id
    smtp.stop()
    clock = FrozenClock(NOW)
    sender = SmtpSender(settings, clock)
    for _ in range(2):
        deliver_email(sessions, settings, clock, sender)
        clock.advance(timedelta(hours=1))
    with sessions.begin() as s:
        assert queue.undelivered_emails(ticket_id, session=s) == 1


def test_refused_recipient_is_parked_and_blocks_nobody(
    sessions: sessionmaker[Session], mail: Settings, smtp: SmtpServer, world: World
) -> None:
    with sessions.begin() as s:
        set_expert_email("fisco", "gone@example.org", MailPreferences(), session=s)
        set_expert_email("fisco-online", FISCO, MailPreferences(), session=s)
        ticket_id = open_ticket(s, mail).id
    smtp.inbox.refuse.add("gone@example.org")
    clock = FrozenClock(NOW)
    report = deliver_email(sessions, mail, clock, SmtpSender(mail, clock))
    assert (report.sent, report.retried, report.failed) == (1, 0, 1)
    assert [m["To"] for m in smtp.inbox.messages()] == [FISCO]
    by_recipient = {r.recipient: r for r in email_rows(sessions)}
    assert by_recipient["gone@example.org"].status == OutboxStatus.FAILED  # no retry can help
    assert "550" in (by_recipient["gone@example.org"].last_error or "")
    with sessions.begin() as s:
        assert queue.undelivered_emails(ticket_id, session=s) == 1


@pytest.mark.parametrize(
    "raw",
    ["fisco@", "fisco example.org", "fisco@example", "<fisco@example.org>", "a@b@example.org", ""],
)
def test_bad_address_is_refused_at_input(
    sessions: sessionmaker[Session], world: World, raw: str
) -> None:
    with sessions.begin() as s, pytest.raises(SportelloError) as err:
        set_expert_email("fisco", raw, MailPreferences(), session=s)
    assert err.value.code is ErrorCode.INVALID_INPUT
    assert "non è un indirizzo e-mail valido" in err.value.detail
    assert normalize_email("  Anna.Rossi+desk@Esempio.IT ") == "Anna.Rossi+desk@esempio.it"
    assert normalize_email("info@caffè.example") == "info@xn--caff-8oa.example"


def _kill_worker(settings: Settings, port: int, stage: str, tmp_path: Path) -> None:
    """Run a delivery process, wait until it reaches `stage` with the row claimed, SIGKILL it."""
    marker = tmp_path / f"{stage}.marker"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.channels.email.crash_worker",
            settings.resolved_database_url(),
            str(port),
            NOW.isoformat(),
            stage,
            str(marker),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the delivery process ended before the send"
            assert time.monotonic() < deadline, "the delivery process never reached the send"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("stage", ["claimed", "sent"])
def test_sigkill_mid_delivery(
    sessions: sessionmaker[Session],
    mail: Settings,
    smtp: SmtpServer,
    world: World,
    stage: str,
    tmp_path: Path,
) -> None:
    """Killed between claim and send: delivered once after the lease. Killed between send and
    mark: sent again after the lease with the same Message-ID, so the repeat is recognisable."""
    with sessions.begin() as s:
        set_expert_email("fisco", FISCO, MailPreferences(), session=s)
        open_ticket(s, mail)
    _kill_worker(mail, smtp.port, stage, tmp_path)
    (row,) = email_rows(sessions)
    assert row.status == OutboxStatus.SENDING and row.attempts == 1
    first = len(smtp.inbox.to(FISCO))
    assert first == (1 if stage == "sent" else 0)

    clock = FrozenClock(NOW)
    sender = SmtpSender(mail, clock)
    assert deliver_email(sessions, mail, clock, sender).sent == 0  # the lease still holds
    clock.advance(timedelta(seconds=mail.desk_outbox_lease_seconds + 1))
    assert deliver_email(sessions, mail, clock, sender).sent == 1
    received = smtp.inbox.to(FISCO)
    assert len(received) == first + 1
    expected = message_id(row.idempotency_key, mail.email_from_address)
    assert {m["Message-ID"] for m in received} == {expected}
    (row,) = email_rows(sessions)
    assert row.status == OutboxStatus.SENT and row.attempts == 2
