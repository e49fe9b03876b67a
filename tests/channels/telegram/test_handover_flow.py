"""Hand-over through the real bot: appointment with .ics, lost slot, restart, expert replies."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sportello.channels.telegram.bot import running_bot
from sportello.config import Settings
from sportello.conversations.models import Conversation, Message, Role
from sportello.desk import scheduling, tickets
from sportello.desk.models import Booking, BookingStatus, Ticket, TicketStatus
from sportello.services import Services
from tests.channels.telegram.fake_bot_api import Call, FakeBotApi
from tests.desk.factory import World

pytestmark = pytest.mark.anyio
CHAT = 5151
EXPERT_CHAT = 777  # the world's expert linked on Telegram (fiscale)
CASE = "Siamo una APS di Fermo: vogliamo iscriverci al 5 per mille entro la scadenza."


def data_starting(call: Call, prefix: str) -> list[str]:
    return [d for _, d in call.buttons() if d.startswith(prefix)]


async def to_slots(api: FakeBotApi, *, proposed: bool = False) -> Call:
    """/prenota → confirm or choose the topic → describe the case → the slots message."""
    count = len(api.messages(CHAT))
    api.send_text(CHAT, "/prenota")
    if proposed:  # the conversation already has a topic: the bot proposes it
        topic = await api.wait_message(CHAT, "È il tema giusto?", after=count)
        assert "Fisco e 5 per mille" in topic.plain
        api.press(CHAT, topic, "ho:topic:yes")
    else:
        topics = await api.wait_message(CHAT, "Su quale tema", after=count)
        api.press(CHAT, topics, "ho:topic:fiscale")
    await api.wait_message(CHAT, "Descrivi il tuo caso")
    api.send_text(CHAT, CASE)
    slots = await api.wait_message(CHAT, "orari liberi")
    assert len(data_starting(slots, "ho:slot:")) >= 2
    assert "ho:slots:more" in data_starting(slots, "ho:")
    return slots


async def test_appointment_is_confirmed_with_an_ics_document(
    api: FakeBotApi, settings: Settings, services: Services, world: World
) -> None:
    async with running_bot(settings, services):
        slots = await to_slots(api)
        api.press(CHAT, slots, data_starting(slots, "ho:slot:")[0])
        confirm = await api.wait_message(CHAT, "Confermi l'appuntamento?")
        assert "Quando:" in confirm.text and "ho:confirm:yes" in data_starting(confirm, "ho:")
        api.press(CHAT, confirm, "ho:confirm:yes")
        booked = await api.wait_message(CHAT, "prenotato")
        assert "/annulla" in booked.text
        document = await api.wait_for(
            lambda: [c for c in api.of("sendDocument") if c.chat_id == CHAT]
        )
        confirmation = await api.wait_message(CHAT, "Appuntamento confermato")
    name, content = document[0].files["document"]
    with services.sessions.begin() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.volunteer_ref == str(CHAT)))
        assert ticket is not None and ticket.status == TicketStatus.SCHEDULED
        assert ticket.summary == CASE and ticket.topic == "fiscale"
        code = ticket.code
    assert code in booked.text and code in confirmation.text
    assert name == f"{code}.ics" and b"BEGIN:VCALENDAR" in content and b"METHOD:REQUEST" in content
    assert confirmation.at <= document[0].at  # the text first, then the calendar file
    # Buttons of a used step are removed, so nothing can be booked twice.
    assert any(
        c.params.get("message_id") == confirm.result_id for c in api.of("editMessageReplyMarkup")
    )


async def test_a_slot_lost_to_someone_else_gets_fresh_slots(
    api: FakeBotApi, settings: Settings, services: Services, world: World
) -> None:
    async with running_bot(settings, services):
        slots = await to_slots(api)
        chosen = data_starting(slots, "ho:slot:")[0]
        api.press(CHAT, slots, chosen)
        confirm = await api.wait_message(CHAT, "Confermi")
        with services.sessions.begin() as session:  # a concurrent booking wins the slot
            other = tickets.open_ticket(
                None,
                "fiscale",
                "Un'altra associazione",
                session=session,
                settings=settings,
                channel="web",
                volunteer_ref="w-1",
                now=services.clock.now(),
            )
            scheduling.book(
                other.id,
                int(chosen.split(":")[-1]),
                session=session,
                settings=settings,
                now=services.clock.now(),
            )
        count = len(api.messages(CHAT))
        api.press(CHAT, confirm, "ho:confirm:yes")
        fresh = await api.wait_message(CHAT, "appena stato prenotato", after=count)
        assert chosen not in fresh.buttons() and data_starting(fresh, "ho:slot:")
        assert "Mi dispiace" in fresh.text and "Errore" not in fresh.text
        api.press(CHAT, fresh, data_starting(fresh, "ho:slot:")[0])
        confirm = await api.wait_message(CHAT, "Confermi", after=count + 1)
        api.press(CHAT, confirm, "ho:confirm:yes")
        await api.wait_message(CHAT, "prenotato", after=count + 2)
    with services.sessions.begin() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.volunteer_ref == str(CHAT)))
        assert ticket is not None
        active = session.scalars(
            select(Booking).where(
                Booking.ticket_id == ticket.id, Booking.status == BookingStatus.ACTIVE
            )
        ).all()
        assert len(active) == 1


async def test_a_restart_in_the_middle_resumes_where_it_was(
    api: FakeBotApi, settings: Settings, services: Services, world: World
) -> None:
    async with running_bot(settings, services):
        slots = await to_slots(api)
    # A new process: a new Application, the same database.
    async with running_bot(settings, services):
        count = len(api.messages(CHAT))
        api.send_text(CHAT, "e adesso?")
        reminder = await api.wait_message(CHAT, "pulsanti", after=count)
        assert data_starting(reminder, "ho:slot:") == data_starting(slots, "ho:slot:")
        api.press(CHAT, slots, data_starting(slots, "ho:slot:")[1])  # the pre-restart message
        confirm = await api.wait_message(CHAT, "Confermi", after=count + 1)
        api.press(CHAT, confirm, "ho:confirm:yes")
        await api.wait_message(CHAT, "prenotato", after=count + 2)
    assert not [c for c in api.messages(CHAT) if "Fonti" in c.text]  # never went to the bot


async def test_expert_reply_is_relayed_and_the_bot_stays_quiet(
    api: FakeBotApi, settings: Settings, services: Services, world: World
) -> None:
    async with running_bot(settings, services):
        api.send_text(CHAT, "Vorrei parlare con un esperto del mio caso specifico")
        # The assistant escalates and proposes its topic; the person picks another one.
        proposed = await api.wait_message(CHAT, "È il tema giusto?")
        assert "Lo sportello" in proposed.plain
        api.press(CHAT, proposed, "ho:topic:other")
        topics = await api.wait_message(CHAT, "Su quale tema")
        api.press(CHAT, topics, "ho:topic:fiscale")
        await api.wait_message(CHAT, "Descrivi")
        api.send_text(CHAT, CASE)
        mode = await api.wait_message(CHAT, "Come preferisci")
        api.press(CHAT, mode, "ho:mode:written")
        opened = await api.wait_message(CHAT, "Ho aperto la richiesta")
        count, typing = len(api.messages(CHAT)), len(api.of("sendChatAction"))
        api.send_text(CHAT, "Aggiungo: abbiamo 40 soci.")
        await api.wait_message(CHAT, "lo leggerà l'esperto", after=count)
        api.send_text(CHAT, "E siamo iscritti al RUNTS.")
        with services.sessions.begin() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.volunteer_ref == str(CHAT)))
            assert ticket is not None and ticket.code in opened.text
            ticket_id = ticket.id
        await api.wait_for(lambda: _stored(services, "E siamo iscritti al RUNTS."))
        assert len(api.of("sendChatAction")) == typing  # no "typing…" for the expert's thread
        with services.sessions.begin() as session:  # the expert answers from the console
            tickets.reply(
                ticket_id,
                world.fiscal,
                "Potete accreditarvi dal portale RUNTS.",
                session=session,
                now=services.clock.now(),
            )
        relayed = await api.wait_message(CHAT, "Potete accreditarvi", after=count + 1)
        assert "ha risposto alla tua richiesta" in relayed.text
        api.send_text(CHAT, "/annulla")
        await api.wait_message(CHAT, "torni all'assistente", after=count + 2)
        api.send_text(CHAT, "Come si iscrive un'associazione al 5 per mille?")
        await api.wait_message(CHAT, "Fonti", after=count + 3)
    # Between the notice and the expert's reply the bot said nothing.
    assert len(api.messages(CHAT)) == count + 4


def _stored(services: Services, text: str) -> bool:
    with services.sessions.begin() as session:
        return session.scalar(select(Message.id).where(Message.text == text)) is not None


async def test_expert_on_telegram_claims_and_replies_by_replying(
    api: FakeBotApi, settings: Settings, services: Services, world: World
) -> None:
    async with running_bot(settings, services):
        api.send_text(CHAT, "/esperto")
        first = await api.wait_message(CHAT, "Su quale tema")
        api.press(CHAT, first, "ho:topic:fiscale")
        await api.wait_message(CHAT, "Descrivi")
        api.send_text(CHAT, CASE)
        mode = await api.wait_message(CHAT, "Come preferisci")
        api.press(CHAT, mode, "ho:mode:written")
        await api.wait_message(CHAT, "Ho aperto la richiesta")
        new_ticket = await api.wait_message(EXPERT_CHAT, "Nuova richiesta")
        assert CASE in new_ticket.text
        claim = data_starting(new_ticket, "cl:")
        assert len(claim) == 1
        api.press(EXPERT_CHAT, new_ticket, claim[0])
        await api.wait_message(EXPERT_CHAT, "Hai preso in carico")
        api.send_text(
            EXPERT_CHAT,
            "Vi serve lo SPID del legale rappresentante.",
            reply_to=api.sent[new_ticket.result_id or 0],
        )
        await api.wait_message(EXPERT_CHAT, "Risposta inviata")
        await api.wait_message(CHAT, "Vi serve lo SPID")
    with services.sessions.begin() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.volunteer_ref == str(CHAT)))
        assert ticket is not None and ticket.assigned_expert_id == world.fiscal_online
        assert ticket.status == TicketStatus.ANSWERED
        conversation = session.get(Conversation, ticket.conversation_id)
        assert conversation is not None
        assert conversation.messages[-1].role == Role.EXPERT


async def test_erase_my_data_after_confirmation(
    api: FakeBotApi, settings: Settings, services: Services, world: World
) -> None:
    async with running_bot(settings, services):
        api.send_text(CHAT, "Come si iscrive un'associazione al 5 per mille?")
        await api.wait_message(CHAT, "Fonti")
        slots = await to_slots(api, proposed=True)
        api.press(CHAT, slots, data_starting(slots, "ho:slot:")[-1])
        confirm = await api.wait_message(CHAT, "Confermi")
        api.press(CHAT, confirm, "ho:confirm:yes")
        await api.wait_message(CHAT, "prenotato")
        api.send_text(CHAT, "/cancella_dati")
        ask = await api.wait_message(CHAT, "Vuoi cancellare i tuoi dati?")
        with services.sessions.begin() as session:  # nothing happens before the button
            assert (
                session.scalar(
                    select(Conversation.id).where(Conversation.external_ref == str(CHAT))
                )
                is not None
            )
        api.press(CHAT, ask, "er:yes")
        await api.wait_message(CHAT, "ho cancellato i tuoi dati")
    with services.sessions.begin() as session:
        assert (
            session.scalar(select(Conversation.id).where(Conversation.external_ref == str(CHAT)))
            is None
        )
        assert session.scalar(select(Message.id).where(Message.text == CASE)) is None
        ticket = session.scalar(select(Ticket).where(Ticket.topic == "fiscale"))
        assert ticket is not None and ticket.volunteer_ref is None
        assert ticket.summary != CASE and ticket.status == TicketStatus.CANCELLED


async def with_buttons(api: FakeBotApi, prefix: str, after: int = 0) -> Call:
    found: Call = await api.wait_for(
        lambda: next((c for c in api.messages(CHAT)[after:] if data_starting(c, prefix)), None)
    )
    return found


async def book_latest_offer(api: FakeBotApi) -> str:
    """Book the latest slot offered (days ahead: it can still be moved); returns its button."""
    slots = await to_slots(api)
    chosen = data_starting(slots, "ho:slot:")[-1]
    api.press(CHAT, slots, chosen)
    confirm = await api.wait_message(CHAT, "Confermi")
    api.press(CHAT, confirm, "ho:confirm:yes")
    await api.wait_message(CHAT, "prenotato")
    return chosen


async def test_my_appointments_can_be_moved_and_cancelled(
    api: FakeBotApi, settings: Settings, services: Services, world: World
) -> None:
    async with running_bot(settings, services):
        await book_latest_offer(api)
        await api.wait_message(CHAT, "Appuntamento confermato")
        api.send_text(CHAT, "/appuntamenti")
        listed = await with_buttons(api, "bk:")
        booking_id = data_starting(listed, "bk:move:")[0].split(":")[-1]
        assert data_starting(listed, "bk:") == [f"bk:ask:{booking_id}", f"bk:move:{booking_id}"]
        api.press(CHAT, listed, f"bk:move:{booking_id}")
        slots = await api.wait_message(CHAT, "orari liberi", after=len(api.messages(CHAT)) - 1)
        assert "ho:mode:written" not in data_starting(slots, "ho:")
        api.press(CHAT, slots, data_starting(slots, "ho:slot:")[0])
        confirm = await api.wait_message(CHAT, "Confermi", after=len(api.messages(CHAT)) - 1)
        api.press(CHAT, confirm, "ho:confirm:yes")
        await api.wait_message(CHAT, "è spostato")
        await api.wait_message(CHAT, "Appuntamento spostato")  # from the desk outbox
        count = len(api.messages(CHAT))
        api.send_text(CHAT, "/appuntamenti")
        listed = await with_buttons(api, "bk:", after=count)
        api.press(CHAT, listed, f"bk:ask:{booking_id}")
        sure = await api.wait_message(CHAT, "Vuoi davvero annullare", after=count)
        api.press(CHAT, sure, f"bk:yes:{booking_id}")
        await api.wait_message(CHAT, "è annullato", after=count)
        await api.wait_for(
            lambda: [
                c
                for c in api.of("sendDocument")
                if c.chat_id == CHAT and b"METHOD:CANCEL" in c.files["document"][1]
            ]
        )
        count = len(api.messages(CHAT))
        api.send_text(CHAT, "/appuntamenti")
        await api.wait_message(CHAT, "Non hai appuntamenti", after=count)
    with services.sessions.begin() as session:
        booking = session.get(Booking, int(booking_id))
        assert booking is not None and booking.status == BookingStatus.CANCELLED
        assert booking.sequence == 2  # moved once, then cancelled


async def test_satisfaction_is_asked_after_closure(
    api: FakeBotApi, settings: Settings, services: Services, world: World
) -> None:
    async with running_bot(settings, services):
        api.send_text(CHAT, "/esperto")
        first = await api.wait_message(CHAT, "Su quale tema")
        api.press(CHAT, first, "ho:topic:fiscale")
        await api.wait_message(CHAT, "Descrivi")
        api.send_text(CHAT, CASE)
        mode = await api.wait_message(CHAT, "Come preferisci")
        api.press(CHAT, mode, "ho:mode:written")
        await api.wait_message(CHAT, "Ho aperto la richiesta")
        with services.sessions.begin() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.volunteer_ref == str(CHAT)))
            assert ticket is not None
            tickets.reply(
                ticket.id,
                world.fiscal,
                "Ecco come fare.",
                session=session,
                now=services.clock.now(),
            )
            tickets.close(
                ticket.id,
                "Risposto per iscritto",
                session=session,
                settings=settings,
                now=services.clock.now(),
            )
            ticket_id = ticket.id
        question = await api.wait_message(CHAT, "Quanto sei soddisfatto")
        assert [d for d in data_starting(question, "rt:")][-1].endswith(":5")
        api.press(CHAT, question, data_starting(question, "rt:")[3])
        await api.wait_message(CHAT, "Grazie per la tua valutazione (4/5)")
        count = len(api.messages(CHAT))
        api.send_text(CHAT, "Come si iscrive un'associazione al 5 per mille?")
        await api.wait_message(CHAT, "Fonti", after=count)  # ticket closed: the bot is back
    with services.sessions.begin() as session:
        closed = [
            e
            for e in session.get(Ticket, ticket_id).events  # type: ignore[union-attr]
            if e.kind == "closed"
        ]
        assert closed[-1].detail["satisfaction"] == 4
