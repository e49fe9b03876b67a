"""Each e-mail the desk sends an expert, received by a real SMTP server and read back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from sportello.channels.email.compose import message_id
from sportello.channels.email.sender import SmtpSender, deliver_email
from sportello.channels.email.sender import running as email_outbox
from sportello.clock import FrozenClock
from sportello.config import Settings
from sportello.conversations.models import Channel, Conversation
from sportello.desk import scheduling, tickets
from sportello.desk.models import NewTicketMail, OutboxStatus
from sportello.desk.notifications import notify
from sportello.desk.notifications.digests import queue_due_digests
from sportello.desk.notifications.expert_mail import MailPreferences, set_expert_email
from sportello.desk.scheduling.scheduler import queue_digests_once
from sportello.desk.tickets import queries
from sportello.desk.tickets.states import Actor
from tests.channels.email.conftest import SmtpServer, mail_settings
from tests.desk.factory import NOW, World, open_ticket, outbox

ROME = ZoneInfo("Europe/Rome")
FISCO = "fisco.mail@example.org"
VOLONTARI = "volontari.mail@example.org"
SUMMARY = "Come si iscrive un'associazione al 5 per mille?"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME).astimezone(UTC)  # type: ignore[misc]


def deliver(sessions: sessionmaker[Session], settings: Settings, at: datetime) -> None:
    clock = FrozenClock(at)
    report = deliver_email(sessions, settings, clock, SmtpSender(settings, clock))
    assert report.retried == report.failed == 0, report


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())


def attachments(message: EmailMessage) -> list[EmailMessage]:
    return list(message.iter_attachments())  # type: ignore[arg-type]


def check_expert_mail(message: EmailMessage, ticket_id: int | None) -> None:
    """What every expert's mail has: both parts, the console link, nothing personal on top."""
    assert message["From"] == "Sportello Terzo settore <sportello@csv.example.org>"
    assert message["Reply-To"] == "staff@csv.example.org"
    assert message["Message-ID"].endswith("@csv.example.org>")
    assert SUMMARY not in message["Subject"] and "Esperta" not in message["Subject"]
    text, html = body(message, "plain"), body(message, "html")
    assert "Buongiorno" in text and "<html" in html
    if ticket_id is not None:
        link = f"https://sportello.example.org/console/tickets/{ticket_id}"
        assert link in text and f'href="{link}"' in html


@pytest.fixture
def mail(db_settings: Settings, smtp: SmtpServer) -> Settings:
    return mail_settings(db_settings, smtp.port)


@pytest.fixture
def experts(sessions: sessionmaker[Session], world: World) -> World:
    """The fiscal expert wants everything at once; the volunteering one a daily digest."""
    with sessions.begin() as s:
        set_expert_email("fisco", FISCO, MailPreferences(agenda=True), session=s)
        digest = MailPreferences(new_tickets=NewTicketMail.DIGEST, digest_hour=8)
        set_expert_email("volontari", VOLONTARI, digest, session=s)
    return world


def test_every_notification_arrives(
    sessions: sessionmaker[Session], mail: Settings, smtp: SmtpServer, experts: World
) -> None:
    # New ticket, at once.
    with sessions.begin() as s:
        ticket = open_ticket(s, mail)
        ticket_id, code = ticket.id, ticket.code
    deliver(sessions, mail, NOW)
    (new,) = smtp.inbox.to(FISCO)
    check_expert_mail(new, ticket_id)
    assert new["Subject"] == f"Nuova richiesta {code} (Fisco e 5 per mille)"
    assert SUMMARY in body(new, "plain") and "List-Unsubscribe" not in new
    with sessions.begin() as s:
        row = next(r for r in outbox(s) if r.channel == "email")
        assert new["Message-ID"] == message_id(row.idempotency_key, mail.email_from_address)

    # The expert takes it and the volunteer books Monday 7 December at the Ascoli desk.
    with sessions.begin() as s:
        tickets.claim(ticket_id, experts.fiscal, session=s, now=NOW)
        offers = scheduling.offer_slots("fiscale", session=s, settings=mail, now=NOW, limit=50)
        monday = [
            o
            for o in offers
            if o.expert_id == experts.fiscal and o.local_start.date().isoformat() == "2026-12-07"
        ]
        booking = scheduling.book(ticket_id, monday[0].slot_id, session=s, settings=mail, now=NOW)
        booking_id, starts = booking.id, booking.slot.starts_at
        other_slot = monday[1].slot_id
    deliver(sessions, mail, NOW)
    confirmation = smtp.inbox.to(FISCO)[-1]
    check_expert_mail(confirmation, ticket_id)
    assert confirmation["Subject"].endswith(f"Nuovo appuntamento: {code}")
    (ics,) = attachments(confirmation)
    assert ics.get_content_type() == "text/calendar"
    assert ics.get_param("method") == "REQUEST" and ics.get_filename() == f"{code}.ics"
    assert "METHOD:REQUEST" in ics.get_content() and "BEGIN:VEVENT" in ics.get_content()

    # The volunteer writes again on the ticket.
    with sessions.begin() as s:
        ticket = queries.get_ticket(s, ticket_id)
        assert ticket is not None
        notify.volunteer_wrote(s, ticket, "Abbiamo anche un dubbio sul rendiconto.", NOW)
    deliver(sessions, mail, NOW)
    message = smtp.inbox.to(FISCO)[-1]
    check_expert_mail(message, ticket_id)
    assert "rendiconto" in body(message, "plain") and "rendiconto" not in message["Subject"]

    # The evening before, tomorrow's agenda (once, however often the job runs).
    evening = local(2026, 12, 6, 18, 5)
    for _ in range(2):
        assert queue_digests_once(sessions, mail, FrozenClock(evening)) in (0, 1)
    deliver(sessions, mail, evening)
    agenda = smtp.inbox.to(FISCO)[-1]
    assert agenda["Subject"] == "I tuoi appuntamenti di lunedì 7 dicembre"
    check_expert_mail(agenda, None)
    assert code in body(agenda, "plain") and "lunedì 7 dicembre 2026" in body(agenda, "plain")
    assert f"/console/tickets/{ticket_id}" in body(agenda, "html")
    assert SUMMARY not in body(agenda, "plain") and "Ascoli" in body(agenda, "plain").title()
    assert agenda["List-Unsubscribe"].strip().startswith("<mailto:staff@csv.example.org?")

    # The 1 h reminder.
    with sessions.begin() as s:
        assert scheduling.queue_due_reminders(
            session=s, settings=mail, now=starts - timedelta(minutes=30)
        )
    deliver(sessions, mail, starts - timedelta(minutes=30))
    reminder = smtp.inbox.to(FISCO)[-1]
    check_expert_mail(reminder, ticket_id)
    assert reminder["Subject"].endswith(f"Promemoria appuntamento: {code}")

    # Moved, then cancelled: the calendar file follows (REQUEST with a new SEQUENCE, CANCEL).
    before = starts - timedelta(days=3)
    with sessions.begin() as s:
        scheduling.reschedule(
            booking_id, other_slot, session=s, settings=mail, now=before, actor=Actor.staff("a")
        )
    deliver(sessions, mail, before)
    moved = smtp.inbox.to(FISCO)[-1]
    assert moved["Subject"].endswith(f"Appuntamento spostato: {code}")
    assert "SEQUENCE:1" in attachments(moved)[0].get_content()
    with sessions.begin() as s:
        scheduling.cancel(
            booking_id, session=s, settings=mail, now=before, actor=Actor.staff("a"), reason="x"
        )
    deliver(sessions, mail, before)
    cancelled = smtp.inbox.to(FISCO)[-1]
    check_expert_mail(cancelled, ticket_id)
    (withdrawal,) = attachments(cancelled)
    assert withdrawal.get_param("method") == "CANCEL"
    assert "METHOD:CANCEL" in withdrawal.get_content()

    kinds = [m["X-Sportello-Kind"] for m in smtp.inbox.to(FISCO)]
    assert kinds == [
        "new_ticket",
        "confirmation",
        "volunteer_message",
        "agenda",
        "reminder",
        "rescheduled",
        "cancellation",
    ]
    assert len({m["Message-ID"] for m in smtp.inbox.messages()}) == len(smtp.inbox.received)
    assert smtp.inbox.to(VOLONTARI) == []  # not their topic


def test_daily_digest_instead_of_one_mail_per_ticket(
    sessions: sessionmaker[Session], mail: Settings, smtp: SmtpServer, experts: World
) -> None:
    with sessions.begin() as s:
        first = open_ticket(s, mail, topic="volontari", ref="a")
        second = open_ticket(s, mail, topic="volontari", ref="b", now=NOW + timedelta(hours=3))
        ids = [first.id, second.id]
    deliver(sessions, mail, NOW + timedelta(hours=3))
    assert smtp.inbox.to(VOLONTARI) == []  # nothing at once: they chose the digest

    at_seven, at_eight = local(2026, 12, 2, 7, 59), local(2026, 12, 2, 8, 0)
    with sessions.begin() as s:
        assert queue_due_digests(session=s, settings=mail, now=at_seven) == 0
    for _ in range(3):  # several processes, or a loop running every minute
        with sessions.begin() as s:
            queue_due_digests(session=s, settings=mail, now=at_eight + timedelta(minutes=1))
    deliver(sessions, mail, at_eight + timedelta(minutes=1))
    (digest,) = smtp.inbox.to(VOLONTARI)
    assert digest["Subject"] == "Nuove richieste nei tuoi temi (mercoledì 2 dicembre)"
    assert digest["List-Unsubscribe"] and digest["Precedence"] == "list"
    html = body(digest, "html")
    for ticket_id in ids:
        assert f'href="https://sportello.example.org/console/tickets/{ticket_id}"' in html
    assert "Sono arrivate 2 richieste" in body(digest, "plain")
    # A digest covers several tickets: it names them, it never quotes them (erasure and
    # retention clean rows by ticket, and a digest row has none).
    assert SUMMARY not in digest.as_string() and "5 per mille" not in body(digest, "plain")


def test_preferences_and_routes(
    sessions: sessionmaker[Session], mail: Settings, smtp: SmtpServer, experts: World
) -> None:
    """Off means off; an expert with Telegram and e-mail gets both; without an address the
    old route (the contact) is kept, so nothing changes for experts who never set one."""
    with sessions.begin() as s:
        set_expert_email(
            "fisco", None, MailPreferences(new_tickets=NewTicketMail.OFF, bookings=False), session=s
        )
        set_expert_email("fisco-online", "online@example.org", MailPreferences(), session=s)
        ticket = open_ticket(s, mail)
        routes = sorted((r.channel, r.recipient) for r in outbox(s, ticket.id))
    assert routes == [("email", "online@example.org"), ("telegram", "777")]
    with sessions.begin() as s:
        set_expert_email("fisco-online", None, MailPreferences(), session=s, remove=True)
        ticket = open_ticket(s, mail, ref="again")
        routes = sorted((r.channel, r.recipient) for r in outbox(s, ticket.id))
    assert routes == [("telegram", "777")]


def test_no_smtp_host_changes_nothing(
    sessions: sessionmaker[Session], db_settings: Settings, world: World
) -> None:
    """E-mail off: the same rows as before e-mail existed, no digest job, no sender loop."""
    assert not db_settings.email_enabled
    with sessions.begin() as s:
        ticket = open_ticket(s, db_settings)
        routes = sorted((r.channel, r.recipient) for r in outbox(s, ticket.id))
    assert routes == [("email", "fisco@example.org"), ("telegram", "777")]
    assert queue_digests_once(sessions, db_settings, FrozenClock(local(2026, 12, 2, 9))) == 0

    async def run() -> None:
        async with email_outbox(sessions, db_settings, FrozenClock(NOW)):
            assert not [t for t in asyncio.all_tasks() if t.get_name() == "email-outbox"]

    asyncio.run(run())
    with sessions.begin() as s:
        assert {r.status for r in outbox(s)} == {OutboxStatus.PENDING}


def test_volunteer_message_reaches_the_expert_following_the_ticket(
    sessions: sessionmaker[Session], mail: Settings, smtp: SmtpServer, experts: World
) -> None:
    with sessions.begin() as s:
        conversation = Conversation(channel=Channel.WEB, external_ref="browser-1")
        s.add(conversation)
        s.flush()
        ticket = tickets.open_ticket(
            conversation, "fiscale", SUMMARY, session=s, settings=mail, now=NOW
        )
        conversation_id, ticket_id = conversation.id, ticket.id
        # Nobody follows it yet: nobody to tell.
        assert tickets.volunteer_wrote(conversation_id, "Ci siete?", session=s, now=NOW) == 0
        tickets.claim(ticket_id, experts.fiscal, session=s, now=NOW)
        told = tickets.volunteer_wrote(
            conversation_id, "Aggiungo: siamo una APS.", session=s, now=NOW
        )
        assert told == 1
    deliver(sessions, mail, NOW)
    message = smtp.inbox.to(FISCO)[-1]
    assert message["X-Sportello-Kind"] == "volunteer_message"
    assert "siamo una APS" in body(message, "plain") and "APS" not in message["Subject"]
    check_expert_mail(message, ticket_id)
    with sessions.begin() as s:  # the expert who opted out of it is not told
        set_expert_email("fisco", None, MailPreferences(messages=False), session=s)
        tickets.volunteer_wrote(conversation_id, "Ancora una cosa.", session=s, now=NOW)
        rows = [r for r in outbox(s, ticket_id) if r.kind == "volunteer_message"]
        assert len(rows) == 1


def test_digest_on_the_night_the_clocks_go_forward(
    sessions: sessionmaker[Session], mail: Settings, experts: World
) -> None:
    """28 March 2027 has no 02:00 in Rome: a digest set for 2 o'clock still goes, once."""
    with sessions.begin() as s:
        set_expert_email("volontari", None, MailPreferences(digest_hour=2), session=s)
        open_ticket(s, mail, topic="volontari", now=local(2027, 3, 27, 12, 0))
    for at in (local(2027, 3, 28, 1, 59), local(2027, 3, 28, 3, 0), local(2027, 3, 28, 23, 0)):
        with sessions.begin() as s:
            queue_due_digests(session=s, settings=mail, now=at)
    with sessions.begin() as s:
        digests = [r for r in outbox(s) if r.kind == "digest"]
        assert [r.idempotency_key for r in digests] == [f"digest:{experts.volunteers}:2027-03-28"]


def test_the_app_loop_delivers(
    sessions: sessionmaker[Session], mail: Settings, smtp: SmtpServer, experts: World
) -> None:
    """What the app's lifespan runs: the e-mail loop sends what the desk queued."""
    settings = mail.model_copy(update={"email_outbox_interval": 0.1})
    with sessions.begin() as s:
        open_ticket(s, settings)

    async def run() -> None:
        async with email_outbox(sessions, settings, FrozenClock(NOW)):
            for _ in range(100):
                if smtp.inbox.to(FISCO):
                    return
                await asyncio.sleep(0.1)

    asyncio.run(run())
    assert [m["X-Sportello-Kind"] for m in smtp.inbox.to(FISCO)] == ["new_ticket"]
