"""Sending the desk outbox by e-mail: `smtplib` in a worker thread, one message per row.

A server that is down, slow or answers 4xx makes the row retry with the outbox's backoff; a
5xx about the recipient parks it at once (`Undeliverable`: retrying cannot help). Each row is
its own SMTP transaction, so one refused recipient never holds back another.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.orm import Session, sessionmaker

from sportello.channels.email.compose import MailTexts, build_message
from sportello.clock import Clock
from sportello.config import Settings
from sportello.desk.notifications import EMAIL, Undeliverable, deliver_pending
from sportello.desk.schemas import Delivery, DeliveryReport
from sportello.periodic import running_every

logger = logging.getLogger(__name__)


class SmtpSender:
    """The outbox sender for the `email` channel (blocking: call it from a worker thread)."""

    def __init__(self, settings: Settings, clock: Clock, texts: MailTexts | None = None) -> None:
        if not settings.email_from_address:
            raise ValueError("SPORTELLO_EMAIL_FROM_ADDRESS is required with an SMTP host")
        self.settings = settings
        self.clock = clock
        self.texts = texts or MailTexts.load()

    def _connect(self) -> smtplib.SMTP:
        cfg = self.settings
        host, port, timeout = cfg.email_smtp_host, cfg.email_smtp_port, cfg.email_smtp_timeout
        smtp: smtplib.SMTP
        if cfg.email_smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
            if cfg.email_smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if cfg.email_smtp_user:
            smtp.login(cfg.email_smtp_user, cfg.email_smtp_password.get_secret_value())
        return smtp

    def __call__(self, delivery: Delivery) -> None:
        if not delivery.recipient or "@" not in delivery.recipient:
            raise Undeliverable(f"outbox {delivery.id}: no e-mail address to deliver to")
        message = build_message(delivery, self.settings, self.texts, self.clock.now())
        smtp = self._connect()
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise Undeliverable(f"outbox {delivery.id}: recipient refused {codes}") from exc
            raise
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()


def deliver_email(
    sessions: sessionmaker[Session], settings: Settings, clock: Clock, sender: SmtpSender
) -> DeliveryReport:
    """Send every deliverable e-mail row once (the caller runs this in a thread)."""
    return deliver_pending(
        {EMAIL: sender}, session_factory=sessions, settings=settings, clock=clock
    )


@asynccontextmanager
async def running(
    sessions: sessionmaker[Session], settings: Settings, clock: Clock
) -> AsyncIterator[None]:
    """Deliver the outbox by e-mail every `email_outbox_interval` seconds while the app runs;
    without an SMTP host this does nothing and e-mail rows wait, as they always did."""
    if not settings.email_enabled:
        yield
        return
    sender = SmtpSender(settings, clock)

    def deliver() -> None:
        report = deliver_email(sessions, settings, clock, sender)
        if report.sent or report.retried or report.failed:
            logger.info("e-mail outbox: %s", report)

    async with running_every("email-outbox", settings.email_outbox_interval, deliver):
        yield
