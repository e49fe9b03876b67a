"""A web volunteer who leaves an e-mail address: every desk message reaches a real SMTP server
(aiosmtpd on loopback) with a signed link back to the chat; without SMTP nothing changes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sportello.channels.email.sender import SmtpSender, deliver_email
from sportello.clock import FrozenClock
from sportello.desk import scheduling, tickets
from sportello.desk.models import Booking, OutboxKind, OutboxMessage, Slot, Ticket
from sportello.desk.notifications import MailPreferences, set_expert_email
from sportello.knowledge.embeddings import Embedder
from tests.channels.email.conftest import SmtpServer, smtp  # noqa: F401 - fixture
from tests.channels.web.conftest import Web, build_web, csrf_from, open_chat
from tests.channels.web.test_chat import LUCAS_DESK, ask, choose, slot_at
from tests.conftest import NOW

ADDRESS = "Mario.Rossi@Esempio.IT"
STORED = "Mario.Rossi@esempio.it"  # the domain is lower-cased at input
EXPERT = "fisco.mail@example.org"
CASE = "Siamo una APS appena iscritta al RUNTS e vogliamo il 5 per mille."
LINK = re.compile(r"https://sportello\.example\.org(/chat/link/[A-Za-z0-9._-]+)")


def mail_overrides(port: int) -> dict[str, object]:
    return {
        "email_smtp_host": "127.0.0.1",
        "email_smtp_port": port,
        "email_smtp_security": "none",
        "email_smtp_timeout": 5.0,
        "email_from_address": "sportello@csv.example.org",
        "email_console_url": "https://sportello.example.org",
        "email_link_secret": "test-secret-for-chat-links",
    }


@pytest.fixture
def mailweb(
    indexed_template: Path,
    tmp_path: Path,
    embedder: Embedder,
    smtp: SmtpServer,  # noqa: F811
) -> Iterator[Web]:
    # The journey below packs days of one person's clicks into one frozen instant: the chat's
    # rate limit (which refills with time) would otherwise stop it halfway.
    overrides = {**mail_overrides(smtp.port), "rate_limit_messages": 100}
    instance = build_web(indexed_template, tmp_path, embedder, **overrides)
    yield instance
    instance.services.engine.dispose()


def deliver(web: Web) -> None:
    clock = web.services.clock
    report = deliver_email(
        web.services.sessions, web.settings, clock, SmtpSender(web.settings, clock)
    )
    assert report.retried == report.failed == 0, report


def to_confirm(web: Web, client: TestClient, csrf: str) -> str:
    """Ask, hand over on the fiscal topic and pick one of Luca's slots at least two days
    ahead (so it can still be moved and cancelled from the chat): the confirm step."""
    ask(client, csrf, "Come si iscrive un ente al 5 per mille?")
    client.post(
        "/api/chat/handover/start", json={"topic": "fiscale"}, headers={"X-CSRF-Token": csrf}
    )
    choose(client, csrf, "topic:yes")
    assert ask(client, csrf, CASE)["handover"]["step"] == "choose_mode"
    step = choose(client, csrf, "mode:appointment")
    for _ in range(10):
        key = slot_at(step, LUCAS_DESK)["key"] if LUCAS_DESK in str(step) else None
        with web.services.sessions.begin() as s:
            slot = s.get(Slot, int(key.split(":")[1])) if key else None
            later = slot is not None and slot.starts_at - NOW > timedelta(days=2)
        if later and key:
            assert choose(client, csrf, key)["step"] == "confirm"
            return key
        step = choose(client, csrf, "slots:more")
    raise AssertionError("no slot of Luca's two days ahead")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage) -> str:
    found = LINK.search(text_of(message))
    assert found, text_of(message)
    return found.group(1)


def test_the_volunteer_hears_everything_by_email(mailweb: Web, smtp: SmtpServer) -> None:  # noqa: F811
    web, clock = mailweb, mailweb.services.clock
    assert isinstance(clock, FrozenClock)
    with web.services.sessions.begin() as s:
        set_expert_email("fisco", EXPERT, MailPreferences(), session=s)
    browser = web.client()
    csrf = open_chat(browser)
    slot_key = to_confirm(web, browser, csrf)

    # The confirm step asks for the optional address, with the privacy line.
    page = browser.get("/").text
    assert 'name="email"' in page and "per ricevere la risposta e i promemoria" in page
    assert "la cancelliamo insieme ai tuoi dati" in page

    # A typo is refused with the reason, and the step (and the chosen slot) is still there.
    bad = browser.post(
        "/chat/handover/choose",
        data={"csrf_token": csrf, "key": "confirm:yes", "email": "mario.rossi@@esempio"},
    )
    assert bad.status_code == 400 and "non è un indirizzo e-mail valido" in bad.text
    state = browser.get("/api/chat").json()["state"]
    assert state["handover"]["step"] == "confirm" and not state["appointments"]
    # Going back ignores a half-typed address (only the booking button takes it).
    back = browser.post(
        "/chat/handover/choose",
        data={"csrf_token": csrf, "key": "confirm:back", "email": "mario.rossi@"},
    )
    assert back.status_code == 303
    assert choose(browser, csrf, slot_key)["step"] == "confirm"

    booked = browser.post(
        "/chat/handover/choose",
        data={"csrf_token": csrf, "key": "confirm:yes", "email": f"  {ADDRESS} "},
    )
    assert booked.status_code == 303 and "/chat/appointments/" in booked.headers["location"]
    with web.services.sessions.begin() as s:
        ticket = s.query(Ticket).one()
        booking = s.query(Booking).one()
        assert ticket.volunteer_email == STORED
        ticket_id, code, booking_id = ticket.id, ticket.code, booking.id
        starts = booking.slot.starts_at

    # The confirmation, with the event attached as text/calendar; method=REQUEST.
    deliver(web)
    (confirmation,) = smtp.inbox.to(STORED)
    assert confirmation["Subject"] == f"Appuntamento confermato: {code}"
    assert CASE not in confirmation["Subject"] and "/console" not in confirmation.as_string()
    (ics,) = confirmation.iter_attachments()
    assert ics.get_content_type() == "text/calendar" and ics.get_param("method") == "REQUEST"
    assert ics.get_filename() == f"{code}.ics" and "BEGIN:VEVENT" in ics.get_content()
    link = link_in(confirmation)
    assert link.startswith(f"/chat/link/{ticket_id}.")

    # The link reopens the conversation in the phone's browser (bound on first use) …
    phone = web.client()
    opened = phone.get(link)
    assert opened.status_code == 303 and opened.headers["location"].startswith("/")
    assert CASE in phone.get("/").text
    assert [a["booking_id"] for a in phone.get("/api/chat/appointments").json()] == [booking_id]
    assert phone.get(link).status_code == 303  # again in the same browser: fine
    assert browser.get(link).status_code == 303  # the browser the person wrote from: fine
    # … and in no third browser.
    stranger = web.client()
    refused = stranger.get(link)
    assert refused.status_code == 403 and "già stato aperto in un altro browser" in refused.text
    assert CASE not in stranger.get("/").text

    # The volunteer writes again from the phone: the expert hears of it by e-mail.
    with web.services.sessions.begin() as s:
        tickets.claim(ticket_id, web.world.fiscal, session=s, now=NOW)
    phone_csrf = csrf_from(phone.get("/").text)
    relayed = ask(phone, phone_csrf, "Dimenticavo: abbiamo anche una sede secondaria.")
    assert relayed["handover"]["step"] == "done"
    deliver(web)
    (note,) = [m for m in smtp.inbox.to(EXPERT) if m["X-Sportello-Kind"] == "volunteer_message"]
    assert "sede secondaria" in text_of(note) and f"/console/tickets/{ticket_id}" in text_of(note)

    # The expert's written reply.
    with web.services.sessions.begin() as s:
        answer = "Serve l'iscrizione entro aprile."
        tickets.reply(ticket_id, web.world.fiscal, answer, session=s, now=NOW)
    deliver(web)
    reply = smtp.inbox.to(STORED)[-1]
    assert reply["Subject"] == f"Risposta alla richiesta {code}"
    assert "Serve l'iscrizione entro aprile." in text_of(reply) and link_in(reply)

    # The 24 h and 1 h reminders (the 24 h one only if booked before its window opened).
    for hours in (23, 0.5):
        clock.set(starts - timedelta(hours=hours))
        with web.services.sessions.begin() as s:
            scheduling.queue_due_reminders(session=s, settings=web.settings, now=clock.now())
        deliver(web)
    reminders = [m for m in smtp.inbox.to(STORED) if m["X-Sportello-Kind"] == "reminder"]
    expected = 2 if starts - NOW > timedelta(hours=24) else 1
    assert len(reminders) == expected and all(code in m["Subject"] for m in reminders)
    assert "Promemoria" in text_of(reminders[-1]) and link_in(reminders[-1])

    # Moved, then cancelled from the chat: each notice by e-mail, the calendar updated.
    clock.set(NOW)
    moved = browser.post(f"/chat/appointments/{booking_id}/move", data={"csrf_token": csrf})
    assert moved.status_code == 303, moved.text
    step = browser.get("/api/chat").json()["state"]["handover"]
    assert step["step"] == "pick_slot"
    choose(browser, csrf, [c for c in step["choices"] if c["kind"] == "slot"][0]["key"])
    assert choose(browser, csrf, "confirm:yes")["step"] == "done"
    deliver(web)
    (rescheduled,) = [m for m in smtp.inbox.to(STORED) if m["X-Sportello-Kind"] == "rescheduled"]
    assert next(rescheduled.iter_attachments()).get_param("method") == "REQUEST"
    cancelled = browser.post(
        f"/api/chat/appointments/{booking_id}/cancel", headers={"X-CSRF-Token": csrf}
    )
    assert cancelled.status_code == 200, cancelled.text
    deliver(web)
    (cancellation,) = [m for m in smtp.inbox.to(STORED) if m["X-Sportello-Kind"] == "cancellation"]
    assert next(cancellation.iter_attachments()).get_param("method") == "CANCEL"

    # Closed: the satisfaction question, and the way back to the chat to answer it.
    with web.services.sessions.begin() as s:
        tickets.close(ticket_id, "Risolto per iscritto.", session=s, settings=web.settings, now=NOW)
    deliver(web)
    closed = smtp.inbox.to(STORED)[-1]
    assert closed["X-Sportello-Kind"] == "closed" and "Com'è andata?" in text_of(closed)
    assert link_in(closed)
    # The link leads to the question on the chat page, where one click answers it.
    question = f"Com'è andata la richiesta {code}?"
    assert question in phone.get(link_in(closed), follow_redirects=True).text
    rated = phone.post("/chat/rate", data={"csrf_token": phone_csrf, "code": code, "score": 4})
    assert rated.status_code == 303 and "ok=rated" in rated.headers["location"]
    assert question not in phone.get("/").text and question not in browser.get("/").text
    with web.services.sessions.begin() as s:
        events = s.get(Ticket, ticket_id).events  # type: ignore[union-attr]
        assert [e.detail.get("satisfaction") for e in events if e.kind == "closed"] == [4]

    # The link expires (email_link_days), even for the browser it was bound to.
    clock.set(NOW + timedelta(days=web.settings.email_link_days, hours=1))
    expired = phone.get(link)
    assert expired.status_code == 403 and "scaduto" in expired.text


def test_without_smtp_no_field_and_no_mail(web: Web) -> None:
    browser = web.client()
    csrf = open_chat(browser)
    to_confirm(web, browser, csrf)
    page = browser.get("/").text
    assert 'name="email"' not in page and "promemoria" not in page
    assert browser.get("/api/chat").json()["state"]["handover"]["ask_email"] is False
    refused = browser.post(
        "/api/chat/handover/choose",
        json={"key": "confirm:yes", "email": ADDRESS},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 400 and "non invia messaggi per e-mail" in refused.text
    assert choose(browser, csrf, "confirm:yes")["step"] == "done"
    with web.services.sessions.begin() as s:
        assert s.query(Ticket).one().volunteer_email is None
        rows = list(s.query(OutboxMessage))
        assert not [r for r in rows if r.recipient and "esempio" in r.recipient.lower()]
        # As before: the confirmation goes to the chat the person wrote from.
        assert [
            r.channel
            for r in rows
            if r.kind == OutboxKind.CONFIRMATION and not r.payload.get("audience")
        ] == ["web"]
