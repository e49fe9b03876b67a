"""The hand-over from the bot to a human expert: one state machine shared by every chat channel.

Steps, kept in `Conversation.state["handover"]` as a typed, versioned `HandoverState`
(desk/handover/state.py), so a restart resumes exactly where it was:

    confirm_topic → describe_case → choose_mode ── written ─────────────────────────┐
                                         └─ appointment → pick_slot → confirm ───────┴→ done
                                                          ↑ "altre date"   │ slot taken: apology
                                                          └────────────────┘ + fresh slots

`done` means a ticket is open with an expert: the person's messages go to the ticket (the bot
says so once and does not answer them) until the ticket is closed or the person leaves.

Using it — each call inside the caller's `with sessions.begin() as session:` (none commits):

    handover.start(conv, session=s, settings=cfg, topic="fiscale")    # "talk to an expert"
    handover.start(conv, session=s, settings=cfg, appointment=True)   # "book an appointment"
    handover.choose(conv, HandoverAction.parse(key), session=s, settings=cfg)  # a button
    handover.handle_text(conv, text, session=s, settings=cfg)         # free text; None = not
                                                                      #   ours: the bot answers
    handover.leave(conv, session=s)                                   # /annulla, "Annulla"
    handover.current(conv, session=s, settings=cfg)                   # show the step again
    handover.start_reschedule(conv, booking_id, session=s, settings=cfg)  # "Sposta"

Every call returns a `StepResult` (view.py builds it from the state): `text` is plain
Italian (the channel escapes it; empty = say nothing), `choices` are buttons whose `key` the
channel parses into a `HandoverAction` for `choose`, `slots` the offered appointments as data, `queued` says the desk outbox has
new messages to deliver now (the booking confirmation with its .ics travels that
way, like every desk message). The step functions (`confirm_topic`, `describe_case`,
`choose_mode`, `more_slots`, `pick_slot`, `confirm`) can also be called directly.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from sportello.config import Settings
from sportello.conversations import service as conversations
from sportello.conversations.models import Conversation, Role
from sportello.desk import scheduling
from sportello.desk.handover.action import ActionKind, HandoverAction
from sportello.desk.handover.after import route_to_ticket
from sportello.desk.handover.desk_side import (
    SLOTS_PER_PAGE,
    ensure_ticket,
    find_slots,
    ticket_open,
)
from sportello.desk.handover.state import HandoverState, Mode, Step, load, save
from sportello.desk.handover.view import (
    CANCEL,
    Stale,
    StepResult,
    choice,
    render,
    slot_to_confirm,
    text,
)
from sportello.desk.models import Ticket
from sportello.desk.notifications import messages
from sportello.desk.schemas import SlotOffer
from sportello.errors import ErrorCode, SportelloError
from sportello.knowledge.documents import Topic

MIN_CASE_CHARS = 15


# --- state -------------------------------------------------------------------------------------


def _flow(conversation: Conversation) -> HandoverState:
    return load(conversation)


def _save(conversation: Conversation, flow: HandoverState | None) -> None:
    save(conversation, flow)


def _expect(flow: HandoverState, *steps: Step) -> None:
    if flow.step not in steps:
        raise Stale


# --- entry points ------------------------------------------------------------------------------


def start(
    conversation: Conversation,
    *,
    session: Session,
    settings: Settings,
    topic: str | None = None,
    appointment: bool = False,
    now: datetime,
) -> StepResult:
    """Begin a hand-over; the topic is the one given, or the last one the assistant saw.

    Starting again while a ticket is open begins a new request; the open ticket keeps its
    expert, and the expert's replies still reach the person through the outbox.
    """
    if topic is None:
        for turn in reversed(conversations.history(session=session, conversation=conversation)):
            if turn.topic:
                topic = turn.topic
                break
    if topic not in {t.value for t in Topic}:
        topic = None
    flow = HandoverState(
        step=Step.CONFIRM_TOPIC, topic=topic, mode=Mode.APPOINTMENT if appointment else None
    )
    _save(conversation, flow)
    return render(flow, settings)


def current(
    conversation: Conversation, *, session: Session, settings: Settings
) -> StepResult | None:
    """The current step shown again (after a restart, or a stray message); None = no flow."""
    flow = _flow(conversation)
    if flow.step == Step.IDLE:
        return None
    return render(flow, settings)


def leave(conversation: Conversation, *, session: Session) -> StepResult:
    """Abandon the flow, or stop sending messages to the expert: the assistant answers again."""
    flow = _flow(conversation)
    _save(conversation, None)
    code = flow.ticket_code
    if code and ticket_open(session, flow.ticket_id):
        return StepResult(Step.IDLE, text("left_ticket_open", code=code), ticket_code=code)
    if flow.step == Step.IDLE:
        return StepResult(Step.IDLE, text("nothing_to_leave"))
    return StepResult(Step.IDLE, text("left"))


def choose(
    conversation: Conversation,
    action: HandoverAction | None,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> StepResult:
    """Apply a pressed button; one that belongs to an earlier step (or no button: None) shows the
    current step again."""
    kind = action.kind if action else None
    if action is not None and kind == ActionKind.CANCEL:
        return leave(conversation, session=session)
    try:
        if action is not None and kind == ActionKind.TOPIC:
            value = action.value
            return confirm_topic(
                conversation,
                None if value == "other" else value,
                session=session,
                settings=settings,
            )
        if action is not None and kind == ActionKind.MODE and action.mode is not None:
            return choose_mode(
                conversation, action.mode, session=session, settings=settings, now=now
            )
        if kind == ActionKind.MORE_SLOTS:
            return more_slots(conversation, session=session, settings=settings, now=now)
        if action is not None and kind == ActionKind.SLOT and action.slot_id is not None:
            return pick_slot(conversation, action.slot_id, session=session, settings=settings)
        if kind == ActionKind.CONFIRM:
            return confirm(conversation, session=session, settings=settings, now=now)
        if kind == ActionKind.BACK:
            return back_to_slots(conversation, session=session, settings=settings)
        raise Stale
    except (Stale, ValueError):
        flow = _flow(conversation)
        if flow.step == Step.IDLE:
            return StepResult(Step.IDLE, text("stale"))
        return render(flow, settings, notice=text("stale"))


def handle_text(
    conversation: Conversation,
    message: str,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> StepResult | None:
    """Free text during the flow: the case description, or a message for the expert's ticket.

    None means no flow is active, only proposed, or the ticket was closed: the assistant answers.
    """
    flow = _flow(conversation)
    step = flow.step
    if step == Step.IDLE:
        return None
    if step == Step.CONFIRM_TOPIC:
        # Only proposed so far (the assistant escalates on its own): a typed message is a new
        # question, so the proposal is dropped and the assistant answers it.
        _save(conversation, None)
        return None
    if step == Step.DESCRIBE_CASE:
        return describe_case(conversation, message, session=session, settings=settings, now=now)
    if step == Step.DONE:
        return route_to_ticket(conversation, message, session=session)
    return render(flow, settings, notice=text("use_buttons"))


# --- the steps ---------------------------------------------------------------------------------


def confirm_topic(
    conversation: Conversation, topic: str | None, *, session: Session, settings: Settings
) -> StepResult:
    """confirm_topic: 'yes' keeps the proposed topic, None asks for one, a topic picks it."""
    flow = _flow(conversation)
    _expect(flow, Step.CONFIRM_TOPIC)
    if topic is None:
        flow.topic = None
    else:
        if topic != "yes":
            flow.topic = Topic(topic).value
        if not flow.topic:
            raise Stale
        flow.step = Step.DESCRIBE_CASE
    _save(conversation, flow)
    return render(flow, settings)


def describe_case(
    conversation: Conversation,
    case: str,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> StepResult:
    """describe_case: keep the description; then ask how to help (or offer slots for /prenota)."""
    flow = _flow(conversation)
    _expect(flow, Step.DESCRIBE_CASE)
    case = case.strip()
    if len(case) < MIN_CASE_CHARS:
        return StepResult(
            Step.DESCRIBE_CASE, text("describe_too_short"), (choice(CANCEL, "button_cancel"),)
        )
    conversations.record_message(
        session=session, conversation=conversation, role=Role.USER, text=case
    )
    flow.summary = case
    if flow.mode == Mode.APPOINTMENT:
        return _offer_first_page(conversation, flow, session=session, settings=settings, now=now)
    flow.step = Step.CHOOSE_MODE
    _save(conversation, flow)
    return render(flow, settings)


def choose_mode(
    conversation: Conversation,
    mode: Mode,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> StepResult:
    """choose_mode: a written answer opens the ticket now; an appointment offers slots."""
    flow = _flow(conversation)
    allowed = [Step.CHOOSE_MODE]
    if mode == Mode.WRITTEN and not flow.booking_id:
        allowed.append(Step.PICK_SLOT)  # "no slots: ask in writing"
    _expect(flow, *allowed)
    flow.mode = mode
    if mode == Mode.APPOINTMENT:
        return _offer_first_page(conversation, flow, session=session, settings=settings, now=now)
    ticket = ensure_ticket(conversation, flow, session=session, settings=settings, now=now)
    done = _done(flow, ticket)
    _save(conversation, done)
    body = text("written_opened", code=ticket.code, topic=messages.topic_label(ticket.topic))
    return StepResult(Step.DONE, body, (), ticket.code, queued=True)


def more_slots(
    conversation: Conversation,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> StepResult:
    """pick_slot, "altre date": the next free slots after the last one shown."""
    flow = _flow(conversation)
    _expect(flow, Step.PICK_SLOT, Step.CONFIRM)
    shown = flow.offers
    after = max((o.starts_at for o in shown), default=None)
    offers = find_slots(flow, session=session, settings=settings, now=now, after=after)
    if not offers:
        flow.step = Step.PICK_SLOT
        _save(conversation, flow)
        return render(flow, settings, notice=text("no_more_slots"))
    flow.step, flow.page, flow.slot = Step.PICK_SLOT, flow.page + 1, None
    flow.offers = offers
    _save(conversation, flow)
    return render(flow, settings)


def pick_slot(
    conversation: Conversation, slot_id: int, *, session: Session, settings: Settings
) -> StepResult:
    """pick_slot: one of the offered slots; ask to confirm it."""
    flow = _flow(conversation)
    _expect(flow, Step.PICK_SLOT, Step.CONFIRM)
    offer = next((o for o in flow.offers if o.slot_id == slot_id), None)
    if offer is None:
        raise Stale
    flow.step, flow.slot = Step.CONFIRM, offer
    _save(conversation, flow)
    return render(flow, settings)


def back_to_slots(
    conversation: Conversation, *, session: Session, settings: Settings
) -> StepResult:
    """confirm, "another time": the same slots again."""
    flow = _flow(conversation)
    _expect(flow, Step.CONFIRM)
    flow.step, flow.slot = Step.PICK_SLOT, None
    _save(conversation, flow)
    return render(flow, settings)


def confirm(
    conversation: Conversation,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> StepResult:
    """confirm: book (or move) the appointment; a slot lost meanwhile gets fresh slots."""
    flow = _flow(conversation)
    _expect(flow, Step.CONFIRM)
    offer = slot_to_confirm(flow)
    booking_id = flow.booking_id
    try:
        if booking_id:
            booking = scheduling.reschedule(
                int(booking_id), offer.slot_id, session=session, settings=settings, now=now
            )
            ticket = booking.ticket
            body = text("rescheduled", code=ticket.code)
        else:
            ticket = ensure_ticket(conversation, flow, session=session, settings=settings, now=now)
            _save(conversation, flow)  # the ticket stays open even if the slot is lost
            scheduling.book(ticket.id, offer.slot_id, session=session, settings=settings, now=now)
            body = text("booked", code=ticket.code)
    except scheduling.SlotTaken as exc:
        return _fresh_slots(conversation, flow, exc.alternatives, text("slot_taken"), settings)
    except SportelloError as exc:
        if exc.code not in (ErrorCode.NOT_FOUND, ErrorCode.INVALID_INPUT, ErrorCode.CONFLICT):
            raise
        notice = exc.detail or text("slot_unavailable")
        offers = find_slots(
            flow, session=session, settings=settings, now=now, exclude=offer.slot_id
        )
        return _fresh_slots(conversation, flow, offers, notice, settings)
    _save(conversation, _done(flow, ticket))
    return StepResult(Step.DONE, body, (), ticket.code, queued=True)


# --- helpers -----------------------------------------------------------------------------------


def _done(flow: HandoverState, ticket: Ticket) -> HandoverState:
    return HandoverState(
        step=Step.DONE, topic=flow.topic, ticket_id=ticket.id, ticket_code=ticket.code
    )


def _offer_first_page(
    conversation: Conversation,
    flow: HandoverState,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> StepResult:
    offers = find_slots(flow, session=session, settings=settings, now=now)
    flow.step, flow.page, flow.slot = Step.PICK_SLOT, 0, None
    flow.offers = offers
    _save(conversation, flow)
    return render(flow, settings)


def _fresh_slots(
    conversation: Conversation,
    flow: HandoverState,
    offers: list[SlotOffer],
    notice: str,
    settings: Settings,
) -> StepResult:
    flow.step, flow.page, flow.slot = Step.PICK_SLOT, 0, None
    flow.offers = offers[:SLOTS_PER_PAGE]
    _save(conversation, flow)
    result = render(flow, settings, notice=notice)
    return replace(result, queued=bool(flow.ticket_id))
