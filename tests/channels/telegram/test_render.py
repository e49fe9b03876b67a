"""Rendering without a bot: escaping, links, splitting, keyboards, outbox parts, logs."""

from __future__ import annotations

import logging
import re

import pytest

from sportello.answering.schemas import Action, Citation, Reply
from sportello.channels.telegram import keyboards
from sportello.channels.telegram.outbox import delivery_parts
from sportello.channels.telegram.redact import MASK, protect_token
from sportello.channels.telegram.render import (
    MAX_MESSAGE,
    reply_html,
    split_html,
    utf16_len,
)
from sportello.channels.telegram.texts import COMMANDS, Texts
from sportello.desk.models import OutboxKind
from sportello.desk.schemas import Delivery

TEXTS = Texts.load()
TAG = re.compile(r"<(/?)(b|i|a)(?: [^>]*)?>")


def balanced(part: str) -> bool:
    depth: list[str] = []
    for closing, name in TAG.findall(part):
        if closing:
            if not depth or depth.pop() != name:
                return False
        else:
            depth.append(name)
    return not depth


def reply(text: str, *citations: Citation) -> Reply:
    return Reply(
        text=text,
        action=Action.ANSWER,
        confidence=0.9,
        citations=citations,
        suggestions=("Chi può accedere al 5 per mille?",),
    )


def test_every_dynamic_part_is_escaped_and_only_http_links_are_links() -> None:
    cites = (
        Citation(1, "d", "c1", "Titolo <b>", "Sezione & co", 'https://example.org/a?x=1&y="2"'),
        Citation(2, "d", "c2", "Senza link", "", ""),
        Citation(3, "d", "c3", "Pericoloso", "", "javascript:alert(1)"),
    )
    html = reply_html(reply("Usa <script>alert(1)</script> & poi [1]", *cites), TEXTS)
    assert "&lt;script&gt;" in html and "<script>" not in html and "&amp; poi" in html
    assert (
        '[1] <a href="https://example.org/a?x=1&amp;y=&quot;2&quot;">Titolo &lt;b&gt; › '
        "Sezione &amp; co</a>" in html
    )
    assert "[2] Senza link" in html and "[3] Pericoloso" in html and "javascript" not in html
    assert html.count("<a ") == 1 and balanced(html)


def test_long_replies_split_on_paragraphs_below_the_limit() -> None:
    paragraphs = [f"Paragrafo {i}: " + "parola àè€😀 " * 60 for i in range(30)]
    cites = tuple(
        Citation(i, "d", f"c{i}", f"Documento {i}", "Sezione", f"https://e.org/{i}")
        for i in range(1, 6)
    )
    html = reply_html(reply("\n\n".join(paragraphs), *cites), TEXTS)
    parts = split_html(html)
    assert len(parts) > 1 and all(utf16_len(p) <= MAX_MESSAGE for p in parts)
    assert all(balanced(p) for p in parts)
    assert all(p.startswith(("Paragrafo", "<b>Fonti</b>")) for p in parts)  # whole paragraphs
    assert re.sub(r"\s+", "", "".join(parts)) == re.sub(r"\s+", "", html)  # nothing lost


def test_a_giant_word_is_cut_outside_entities() -> None:
    blob = "&amp;" * 2000  # 10,000 characters without a space
    parts = split_html(blob)
    assert all(utf16_len(p) <= MAX_MESSAGE for p in parts)
    assert all(p.startswith("&amp;") and p.endswith("&amp;") for p in parts)
    assert "".join(parts) == blob


def test_keyboards_fit_telegram_limits() -> None:
    markup = keyboards.reply_keyboard(123456789, reply("x"), TEXTS)
    assert markup is not None
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert data == ["fb:123456789:1", "fb:123456789:-1", "ex:123456789", "sq:0"]
    assert keyboards.button_label(markup, "sq:0") == "Chi può accedere al 5 per mille?"
    trimmed = keyboards.without_feedback(markup)
    assert trimmed is not None and len(trimmed.inline_keyboard) == 2
    with pytest.raises(ValueError):
        keyboards.claim_keyboard("X" * 70, TEXTS)
    assert set(TEXTS.commands) == set(COMMANDS)


def delivery(kind: OutboxKind, **payload: object) -> Delivery:
    return Delivery(
        id=1,
        idempotency_key="k",
        channel="telegram",
        recipient="42",
        kind=kind,
        subject="Oggetto <1>",
        body="Corpo & testo",
        payload=payload,
        attempt=1,
    )


def test_outbox_parts_carry_buttons_and_the_calendar_file() -> None:
    new = delivery_parts(delivery(OutboxKind.NEW_TICKET, ticket_code="SPT-2026-0001"), TEXTS)
    assert len(new) == 1 and new[0].text == "<b>Oggetto &lt;1&gt;</b>\n\nCorpo &amp; testo"
    assert new[0].markup is not None
    assert new[0].markup.inline_keyboard[0][0].callback_data == "cl:SPT-2026-0001"
    closed = delivery_parts(delivery(OutboxKind.CLOSED, ticket_code="SPT-2026-0001"), TEXTS)
    assert "Quanto sei soddisfatto" in (closed[0].text or "") and closed[0].markup is not None
    assert [b.callback_data for b in closed[0].markup.inline_keyboard[0]] == [
        f"rt:SPT-2026-0001:{n}" for n in range(1, 6)
    ]
    booked = delivery_parts(
        delivery(
            OutboxKind.CONFIRMATION,
            ticket_code="SPT-2026-0001",
            ics="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
            ics_filename="SPT-2026-0001.ics",
        ),
        TEXTS,
    )
    assert [p.filename for p in booked] == ["", "SPT-2026-0001.ics"]
    assert booked[1].document == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    cancelled = delivery_parts(
        delivery(OutboxKind.CANCELLATION, ics="X", ics_filename="a.ics"), TEXTS
    )
    assert "annullato" in cancelled[1].caption


def test_the_token_is_redacted_from_log_records(caplog: pytest.LogCaptureFixture) -> None:
    token = "42:secret-token-value"
    protect_token(token)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("telegram.ext.ExtBot").debug("Set Bot API URL: https://x/bot%s", token)
    try:
        raise RuntimeError(f"https://x/bot{token}/getMe failed")
    except RuntimeError:
        logging.getLogger("telegram.ext.Updater").exception("polling failed")
    assert token not in caplog.text and MASK in caplog.text
    assert logging.getLogger("httpx").level == logging.WARNING
