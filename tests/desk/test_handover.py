"""The hand-over state machine on SQLite and PostgreSQL: every step in its own transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.conversations import service as conversations
from sportello.conversations.models import Channel, Conversation, Message, Role
from sportello.desk import handover, scheduling, tickets
from sportello.desk.handover import ActionKind, HandoverAction, Mode, Step, StepResult
from sportello.desk.models import Booking, BookingStatus, OutboxKind, Ticket, TicketStatus
from tests.desk.factory import NOW, World, open_ticket, outbox

CASE = "Siamo una APS di Ascoli: vogliamo iscriverci al 5 per mille ma non sappiamo come fare."


@pytest.fixture
def conv_id(sessions: sessionmaker[Session], world: World) -> int:
    with sessions.begin() as session:
        conv = conversations.start(session=session, channel=Channel.TELEGRAM, external_ref="42")
        return conv.id


class Flow:
    """Drive one conversation, one transaction per step (as a channel does)."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, conv_id: int) -> None:
        self.sessions, self.settings, self.conv_id = sessions, settings, conv_id

    def run(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        with self.sessions.begin() as session:
            conv = session.get(Conversation, self.conv_id)
            assert conv is not None
            return fn(conv, *args, session=session, **kw)

    def start(self, **kw: Any) -> StepResult:
        return self.run(handover.start, settings=self.settings, now=NOW, **kw)

    def choose(self, key: str) -> StepResult:
        return self.run(handover.choose, HandoverAction.parse(key), settings=self.settings, now=NOW)

    def text(self, message: str) -> StepResult | None:
        return self.run(handover.handle_text, message, settings=self.settings, now=NOW)

    def state(self) -> dict[str, Any]:
        with self.sessions.begin() as session:
            conv = session.get(Conversation, self.conv_id)
            assert conv is not None
            return dict(conv.state.get("handover") or {})


@pytest.fixture
def flow(sessions: sessionmaker[Session], db_settings: Settings, conv_id: int) -> Flow:
    return Flow(sessions, db_settings, conv_id)


def keys(result: StepResult) -> list[str]:
    return [c.key for c in result.choices]


def slot_keys(result: StepResult) -> list[str]:
    return [k for k in keys(result) if k.startswith("slot:")]


def to_slots(flow: Flow) -> StepResult:
    flow.start(topic="fiscale", appointment=True)
    flow.choose("topic:yes")
    result = flow.text(CASE)
    assert result is not None and result.step == Step.PICK_SLOT
    return result


def test_written_answer_then_messages_go_to_the_ticket(
    flow: Flow, sessions: sessionmaker[Session]
) -> None:
    first = flow.start(topic="fiscale")
    assert first.step == Step.CONFIRM_TOPIC and "Fisco e 5 per mille" in first.text
    assert keys(first) == ["topic:yes", "topic:other", "cancel"]
    assert flow.choose("topic:yes").step == Step.DESCRIBE_CASE
    short = flow.text("aiuto")
    assert short is not None and short.step == Step.DESCRIBE_CASE and "parola in più" in short.text
    mode = flow.text(CASE)
    assert mode is not None and keys(mode) == ["mode:written", "mode:appointment", "cancel"]
    done = flow.choose("mode:written")
    assert done.step == Step.DONE and done.queued and done.ticket_code
    with sessions.begin() as session:
        ticket = tickets.find_ticket(done.ticket_code, session=session)
        assert (ticket.summary, ticket.topic, ticket.channel, ticket.volunteer_ref) == (
            CASE,
            "fiscale",
            "telegram",
            "42",
        )
        ticket_id = ticket.id
    noticed = flow.text("Dimenticavo: siamo iscritti al RUNTS dal 2023.")
    assert noticed is not None and noticed.relayed and done.ticket_code in noticed.text
    quiet = flow.text("Grazie!")
    assert quiet is not None and quiet.relayed and quiet.text == ""
    with sessions.begin() as session:
        texts = [
            m.text
            for m in session.scalars(
                select(Message).where(
                    Message.conversation_id == flow.conv_id, Message.role == Role.USER
                )
            )
        ]
        assert texts[-2:] == ["Dimenticavo: siamo iscritti al RUNTS dal 2023.", "Grazie!"]
        tickets.cancel_ticket(ticket_id, session=session, settings=flow.settings, now=NOW)
    assert flow.text("Una nuova domanda") is None  # ticket closed: the assistant answers again
    assert flow.state() == {}


def test_topic_from_the_conversation_or_chosen(flow: Flow, sessions: sessionmaker[Session]) -> None:
    unknown = flow.start()
    assert unknown.step == Step.CONFIRM_TOPIC and "topic:bilancio" in keys(unknown)
    picked = flow.choose("topic:bilancio")
    assert picked.step == Step.DESCRIBE_CASE and flow.state()["topic"] == "bilancio"
    with sessions.begin() as session:
        conv = session.get(Conversation, flow.conv_id)
        assert conv is not None
        session.add(
            Message(
                conversation_id=conv.id, role=Role.ASSISTANT, text="…", topic="runts", citations=[]
            )
        )
    proposed = flow.start()
    assert "RUNTS" in proposed.text and keys(proposed)[0] == "topic:yes"
    again = flow.choose("topic:other")
    assert again.step == Step.CONFIRM_TOPIC and "topic:runts" in keys(again)


def test_appointment_books_and_queues_the_confirmation_with_ics(
    flow: Flow, sessions: sessionmaker[Session]
) -> None:
    slots = to_slots(flow)
    assert 1 <= len(slot_keys(slots)) <= handover.SLOTS_PER_PAGE
    assert "slots:more" in keys(slots) and "mode:written" in keys(slots)
    assert "ora italiana" in slots.text and len(slots.slots) == len(slot_keys(slots))
    assert all(c.slot is not None for c in slots.choices if c.key.startswith("slot:"))
    more = flow.choose("slots:more")
    first_page = {int(k.split(":")[1]) for k in slot_keys(slots)}
    second_page = {int(k.split(":")[1]) for k in slot_keys(more)}
    assert more.step == Step.PICK_SLOT and second_page and not first_page & second_page
    key = slot_keys(more)[0]
    asked = flow.choose(key)
    assert asked.step == Step.CONFIRM and keys(asked) == ["confirm:yes", "confirm:back", "cancel"]
    assert "Quando:" in asked.text and "Con: Esperta" in asked.text
    done = flow.choose("confirm:yes")
    assert done.step == Step.DONE and done.queued
    with sessions.begin() as session:
        ticket = tickets.find_ticket(done.ticket_code or "", session=session)
        assert ticket.status == TicketStatus.SCHEDULED
        booking = session.scalar(select(Booking).where(Booking.ticket_id == ticket.id))
        assert booking is not None and booking.slot_id == int(key.split(":")[1])
        rows = [r for r in outbox(session, ticket.id) if r.kind == OutboxKind.CONFIRMATION]
        volunteer = [r for r in rows if r.recipient == "42"]
        assert len(volunteer) == 1 and "BEGIN:VCALENDAR" in volunteer[0].payload["ics"]
    # A second press of the same button is harmless: nothing is booked twice.
    stale = flow.choose("confirm:yes")
    assert stale.step == Step.DONE and "non è più valido" in stale.text


def test_slot_lost_to_someone_else_gets_an_apology_and_fresh_slots(
    flow: Flow, sessions: sessionmaker[Session]
) -> None:
    slots = to_slots(flow)
    key = slot_keys(slots)[0]
    slot_id = int(key.split(":")[1])
    flow.choose(key)
    with sessions.begin() as session:  # another volunteer is faster
        other = open_ticket(session, flow.settings, ref="someone-else")
        scheduling.book(other.id, slot_id, session=session, settings=flow.settings, now=NOW)
    lost = flow.choose("confirm:yes")
    assert lost.step == Step.PICK_SLOT and "appena stato prenotato" in lost.text
    assert key not in keys(lost) and slot_keys(lost)
    state = flow.state()
    assert state["ticket_id"]  # the request is open; only the time is to choose again
    flow.choose(slot_keys(lost)[0])
    done = flow.choose("confirm:yes")
    assert done.step == Step.DONE and done.ticket_code == state["ticket_code"]
    with sessions.begin() as session:
        assert (
            session.scalar(
                select(Booking.ticket_id).where(
                    Booking.slot_id == int(slot_keys(lost)[0].split(":")[1])
                )
            )
            == state["ticket_id"]
        )


def test_state_survives_a_restart_and_stale_buttons_show_the_current_step(
    flow: Flow, sessions: sessionmaker[Session], db_settings: Settings
) -> None:
    to_slots(flow)
    # A new process: nothing but the database.
    resumed = Flow(sessions, db_settings, flow.conv_id)
    current = resumed.run(handover.current, settings=db_settings)
    assert current is not None and current.step == Step.PICK_SLOT
    stale = resumed.choose("topic:yes")
    assert stale.step == Step.PICK_SLOT and stale.text.startswith("Questo pulsante")
    typed = resumed.text("che faccio?")
    assert typed is not None and typed.step == Step.PICK_SLOT and "pulsanti" in typed.text
    assert resumed.choose(slot_keys(current)[0]).step == Step.CONFIRM


def test_leave_returns_to_the_bot(flow: Flow, sessions: sessionmaker[Session]) -> None:
    to_slots(flow)
    left = flow.choose("cancel")
    assert left.step == Step.IDLE and "annullato" in left.text and flow.state() == {}
    assert flow.text("Una domanda") is None
    nothing = flow.run(handover.leave)
    assert "nessuna operazione" in nothing.text
    flow.start(topic="fiscale")
    flow.choose("topic:yes")
    flow.text(CASE)
    done = flow.choose("mode:written")
    left_open = flow.run(handover.leave)
    assert done.ticket_code and done.ticket_code in left_open.text
    assert flow.text("Altra domanda") is None


def test_no_slots_offers_a_written_answer(flow: Flow, sessions: sessionmaker[Session]) -> None:
    flow.start(topic="fiscale", appointment=True)
    flow.choose("topic:yes")
    with sessions.begin() as session:  # every fiscal expert away for the whole horizon
        scheduling.add_exception(
            session=session,
            settings=flow.settings,
            first_day=NOW.date(),
            last_day=NOW.date() + timedelta(days=60),
            now=NOW,
        )
    none = flow.text(CASE)
    assert none is not None and none.step == Step.PICK_SLOT and not slot_keys(none)
    assert "mode:written" in keys(none)
    assert flow.choose("mode:written").step == Step.DONE


def test_reschedule_moves_the_booking(flow: Flow, sessions: sessionmaker[Session]) -> None:
    slots = to_slots(flow)
    flow.choose(slot_keys(slots)[-1])  # the latest offered: more than a day ahead
    flow.choose("confirm:yes")
    with sessions.begin() as session:
        booking = session.scalar(select(Booking).where(Booking.status == BookingStatus.ACTIVE))
        assert booking is not None
        booking_id, old_slot = booking.id, booking.slot_id
    offer = flow.run(handover.start_reschedule, booking_id, settings=flow.settings, now=NOW)
    assert offer.step == Step.PICK_SLOT and "mode:written" not in keys(offer)
    assert f"slot:{old_slot}" not in keys(offer)
    flow.choose(slot_keys(offer)[0])
    moved = flow.choose("confirm:yes")
    assert moved.step == Step.DONE and "spostato" in moved.text
    with sessions.begin() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None and booking.slot_id == int(slot_keys(offer)[0].split(":")[1])
        assert booking.sequence == 1
        ticket = session.get(Ticket, booking.ticket_id)
        assert ticket is not None and ticket.status == TicketStatus.SCHEDULED


def test_button_keys_parse_into_typed_actions_and_back() -> None:
    """Every key a step offers names one typed action (and is written back the same); a key no
    button has parses to None, which the flow answers by showing its step again."""
    actions = [
        HandoverAction(ActionKind.TOPIC, value="yes"),
        HandoverAction(ActionKind.TOPIC, value="other"),
        HandoverAction(ActionKind.MODE, mode=Mode.APPOINTMENT),
        HandoverAction(ActionKind.MODE, mode=Mode.WRITTEN),
        HandoverAction(ActionKind.SLOT, slot_id=2**40),
        HandoverAction(ActionKind.MORE_SLOTS),
        HandoverAction(ActionKind.CONFIRM),
        HandoverAction(ActionKind.BACK),
        HandoverAction(ActionKind.CANCEL),
    ]
    for action in actions:
        assert HandoverAction.parse(action.key) == action
        assert len(f"ho:{action.key}".encode()) <= 64  # Telegram's callback data
    for junk in ["", "slot:abc", "mode:phone", "topic:", "confirm:maybe", "x" * 70]:
        assert HandoverAction.parse(junk) is None
