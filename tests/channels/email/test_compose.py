"""Message building without a server: volunteers' mails, their signed way back to the chat."""

from __future__ import annotations

from pathlib import Path

from sportello.channels.email.compose import MailTexts, build_message, message_id
from sportello.desk.models import OutboxKind
from sportello.desk.schemas import Delivery
from sportello.usecases import chat_links
from tests.channels.email.conftest import mail_settings
from tests.conftest import NOW, make_settings

ICS = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


def delivery(**payload: object) -> Delivery:
    return Delivery(
        id=7,
        idempotency_key="reminder:abc:0:24h:volunteer",
        channel="email",
        recipient="volontaria@example.org",
        kind=OutboxKind.CONFIRMATION,
        subject="Appuntamento confermato",
        body="Il tuo appuntamento è confermato.\n\nTicket SPT-2026-0007\nQuando: domani",
        payload={"ticket_code": "SPT-2026-0007", "ics": ICS, **payload},
        attempt=1,
        ticket_id=3,
    )


def test_volunteer_mail_never_links_the_console(tmp_path: Path) -> None:
    settings = mail_settings(make_settings(tmp_path), 2525)
    message = build_message(delivery(), settings, MailTexts.load(), NOW)
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "/console" not in message.as_string()
    assert "hai lasciato il tuo indirizzo" in text
    assert message["Subject"] == "Appuntamento confermato: SPT-2026-0007"
    assert message["Message-ID"] == message_id(
        "reminder:abc:0:24h:volunteer", "sportello@csv.example.org"
    )
    (ics,) = message.iter_attachments()
    assert ics.get_content_type() == "text/calendar" and ics.get_param("method") == "REQUEST"

    # The way back is a signed link for this ticket (3), valid email_link_days from sending.
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    chat = "https://sportello.example.org/chat/link/" + chat_links.sign(settings, 3, NOW)
    assert f'href="{chat}"' in html and "Torna alla conversazione" in html
    assert chat in text and "per 30 giorni" in text
    assert chat_links.verify(settings, chat.rsplit("/", 1)[1], NOW) == 3


def test_values_are_escaped_in_html(tmp_path: Path) -> None:
    settings = mail_settings(make_settings(tmp_path), 2525)
    hostile = delivery().model_copy(update={"body": "<script>alert(1)</script> & «ok»"})
    html = build_message(hostile, settings, MailTexts.load(), NOW).get_body(
        preferencelist=("html",)
    )
    content = html.get_content()  # type: ignore[union-attr]
    assert "<script>" not in content and "&lt;script&gt;" in content
