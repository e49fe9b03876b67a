"""One outbox row as an e-mail that mail clients like: text + HTML, .ics, stable Message-ID.

The Message-ID is derived from the row's idempotency key, so a message sent again after a
crash (sent, then the process died before marking it) carries the same ID: mail servers and
clients recognise the repeat. Subjects name only a ticket code, a topic or a date.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import yaml

from sportello.config import Settings
from sportello.desk import notifications
from sportello.desk.models import OutboxKind
from sportello.desk.schemas import Delivery
from sportello.texts import PROMPTS_DIR

TEMPLATES_DIR = PROMPTS_DIR / "email"
DAILY = {OutboxKind.DIGEST, OutboxKind.AGENDA}


@dataclass(frozen=True)
class MailTexts:
    """The fixed sentences (prompts/email/texts.it.yaml) and the two body templates."""

    texts: dict[str, Any]
    text_template: jinja2.Template
    html_template: jinja2.Template

    @classmethod
    def load(cls, folder: Path = TEMPLATES_DIR) -> MailTexts:
        texts = yaml.safe_load((folder / "texts.it.yaml").read_text("utf-8"))
        plain = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder),
            autoescape=False,  # text/plain: nothing to escape
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        rich = jinja2.Environment(
            loader=jinja2.FileSystemLoader(folder),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        return cls(
            texts, plain.get_template("message.txt.j2"), rich.get_template("message.html.j2")
        )


def message_id(idempotency_key: str, sender: str) -> str:
    """`<hash-of-the-key@sender-domain>`: the same row always gives the same ID."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "sportello.invalid"
    return f"<{digest}.outbox@{domain}>"


def ticket_link(settings: Settings, ticket_id: int | None) -> str | None:
    if ticket_id is None:
        return None
    return f"{settings.email_console_url.rstrip('/')}/console/tickets/{ticket_id}"


def _day_label(value: object) -> str:
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return (
        f"{notifications.WEEKDAYS[day.weekday()]} {day.day} {notifications.MONTHS[day.month - 1]}"
    )


def subject(delivery: Delivery, texts: MailTexts) -> str:
    payload = delivery.payload
    table: dict[str, str] = texts.texts["subjects"]
    key = str(delivery.kind)
    if delivery.kind == OutboxKind.CONFIRMATION and payload.get("audience") == "expert":
        key = "confirmation_expert"
    template = table.get(key, "{code}")
    values = {
        "code": str(payload.get("ticket_code") or ""),
        "topic": notifications.topic_label(str(payload.get("topic") or "")),
        "day": _day_label(payload.get("day", "")),
    }
    # No prefix: the sender's name already says who writes, and a short subject stays on one
    # header line (folded subjects come back with a leading space from some parsers).
    return template.format(**values)


def _paragraphs(body: str) -> list[list[str]]:
    return [block.splitlines() for block in re.split(r"\n\s*\n", body.strip()) if block.strip()]


def build_message(
    delivery: Delivery, settings: Settings, texts: MailTexts, now: datetime
) -> EmailMessage:
    """The e-mail for one outbox row addressed to `delivery.recipient`."""
    payload = delivery.payload
    fixed = texts.texts
    sender = settings.email_from_address
    audience = str(payload.get("audience") or "volunteer")
    if audience == "expert":
        link, link_label = ticket_link(settings, delivery.ticket_id), fixed["open_ticket"]
    else:  # a volunteer never gets the console: only a link back to their own chat, if any
        chat = payload.get("chat_link")
        link, link_label = (str(chat) if chat else None), fixed["open_chat"]
    items = [
        {**item, "link": ticket_link(settings, item.get("ticket_id"))}
        for item in payload.get("items") or []
        if isinstance(item, dict)
    ]
    ics = payload.get("ics")
    calendar_note = None
    if isinstance(ics, str) and ics:
        cancel = "METHOD:CANCEL" in ics
        calendar_note = fixed["calendar_cancel_note" if cancel else "calendar_note"]
    if delivery.kind in DAILY:
        footer = fixed["footer_digest"]
    else:
        footer = fixed["footer_expert" if audience == "expert" else "footer_volunteer"]
    title = subject(delivery, texts)
    paragraphs = _paragraphs(delivery.body)
    if items:  # a digest or an agenda: its lead sentence, then the items with their links
        paragraphs = paragraphs[:1]
    context = {
        "texts": fixed,
        "subject": title,
        "body": "\n\n".join("\n".join(lines) for lines in paragraphs),
        "paragraphs": paragraphs,
        "items": items,
        "link": link,
        "link_label": link_label,
        "calendar_note": calendar_note,
        "footer": " ".join(str(footer).split()),
    }

    msg = EmailMessage()
    msg["Subject"] = title
    msg["From"] = formataddr((settings.email_from_name, sender))
    msg["To"] = delivery.recipient or ""
    if settings.email_reply_to:
        msg["Reply-To"] = settings.email_reply_to
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(delivery.idempotency_key, sender)
    msg["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to the desk
    msg["X-Sportello-Kind"] = str(delivery.kind)
    if delivery.kind in DAILY:
        target = settings.email_reply_to or sender
        unsubscribe = quote(str(fixed["unsubscribe_subject"]))
        msg["List-Unsubscribe"] = f"<mailto:{target}?subject={unsubscribe}>"
        msg["Precedence"] = "list"
    msg.set_content(texts.text_template.render(context))
    msg.add_alternative(texts.html_template.render(context), subtype="html")
    if isinstance(ics, str) and ics:
        method = "CANCEL" if "METHOD:CANCEL" in ics else "REQUEST"
        msg.add_attachment(
            ics.encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename=str(payload.get("ics_filename") or "appuntamento.ics"),
            params={"method": method, "charset": "utf-8"},
        )
    return msg
