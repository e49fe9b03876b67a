"""After the hand-over: a message relayed to the open ticket, and moving an appointment."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sportello.config import Settings
from sportello.conversations import service as conversations
from sportello.conversations.models import Conversation, Role
from sportello.desk.handover.desk_side import find_slots, owned_booking, ticket_open
from sportello.desk.handover.state import HandoverState, Mode, Step, load, save
from sportello.desk.handover.view import Stale, StepResult, render, text
from sportello.errors import ErrorCode, SportelloError


def route_to_ticket(
    conversation: Conversation, message: str, *, session: Session
) -> StepResult | None:
    """done: store the message in the ticket's conversation for the expert; None if it closed."""
    flow = load(conversation)
    if flow.step != Step.DONE:
        raise Stale
    if not ticket_open(session, flow.ticket_id):
        save(conversation, None)
        return None
    conversations.record_message(
        session=session, conversation=conversation, role=Role.USER, text=message
    )
    code = flow.ticket_code
    if flow.noticed:
        return StepResult(Step.DONE, "", (), code, relayed=True)
    flow.noticed = True
    save(conversation, flow)
    return StepResult(Step.DONE, text("relayed", code=code), (), code, relayed=True)


def start_reschedule(
    conversation: Conversation,
    booking_id: int,
    *,
    session: Session,
    settings: Settings,
    now: datetime,
) -> StepResult:
    """Offer new slots for one of the person's appointments (same expert); confirm moves it."""
    booking = owned_booking(
        conversation.channel, conversation.external_ref, booking_id, session=session
    )
    moment = now
    notice = timedelta(hours=settings.desk_reschedule_notice_hours)
    if booking.slot.starts_at - moment < notice:
        raise SportelloError(
            ErrorCode.CONFLICT,
            f"Mancano meno di {settings.desk_reschedule_notice_hours} ore all'appuntamento: "
            "non è più possibile spostarlo da qui. Scrivi allo sportello o all'esperto.",
        )
    ticket = booking.ticket
    flow = HandoverState(
        step=Step.PICK_SLOT,
        topic=ticket.topic,
        mode=Mode.APPOINTMENT,
        ticket_id=ticket.id,
        ticket_code=ticket.code,
        booking_id=booking.id,
    )
    offers = find_slots(flow, session=session, settings=settings, now=now, exclude=booking.slot_id)
    flow.offers = offers
    save(conversation, flow)
    return render(flow, settings)
