"""The experts' and staff's use cases: queue, ticket, claim, reply, notes, close, agenda, scheduling.

Authorisation lives here, not in a channel: every use case takes the `Principal` acting and
checks what it may do (an expert acts on free or own tickets, staff on any), so the web console,
an expert on Telegram or an API client get the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from pydantic import BaseModel

from sportello.accounts.service import Principal
from sportello.clock import local_today
from sportello.conversations import reading
from sportello.desk import handover, scheduling, tickets
from sportello.desk.models import TicketStatus
from sportello.desk.tickets import ALLOWED, Action, Actor
from sportello.errors import ErrorCode, SportelloError
from sportello.services import Services
from sportello.usecases import views
from sportello.usecases.results import ExpertReplied

AGENDA_DAYS = 14


class DeskOption(BaseModel):
    id: int
    name: str


class QueueFilters(BaseModel):
    topic: str | None = None
    status: str = "open"  # "open", "all" or one TicketStatus
    desk_id: int | None = None
    mine: bool = False


class QueueView(BaseModel):
    filters: QueueFilters
    tickets: list[views.TicketRow]
    desks: list[DeskOption]


class TicketPage(BaseModel):
    ticket: views.TicketRow
    messages: list[views.MessageView]
    events: list[views.EventView]
    notes: list[views.NoteView]
    bookings: list[views.AppointmentView]
    is_mine: bool
    can_claim: bool
    can_reply: bool
    can_close: bool
    can_cancel: bool
    unbook_booking_id: int | None
    undelivered_emails: int = 0  # e-mails about it parked after their last attempt


class AvailabilityView(BaseModel):
    rules: list[views.RuleView]
    absences: list[views.AbsenceView]
    desks: list[DeskOption]


def linked_expert(who: Principal) -> int:
    """The desk expert the account acts as; claiming, replying and an agenda need one."""
    if who.expert_id is None:
        raise SportelloError(
            ErrorCode.FORBIDDEN,
            "Il tuo account non è collegato a un esperto dello sportello: chiedi allo staff.",
        )
    return who.expert_id


def actor(who: Principal) -> Actor:
    return Actor.expert(who.expert_id) if who.expert_id is not None else Actor.staff(who.username)


def _statuses(value: str) -> list[TicketStatus] | None:
    if value == "all":
        return None
    if value == "open":
        return list(tickets.OPEN_STATUSES)
    try:
        return [TicketStatus(value)]
    except ValueError:
        raise SportelloError(ErrorCode.INVALID_INPUT, f"Stato sconosciuto «{value}».") from None


def queue_view(svc: Services, who: Principal, filters: QueueFilters) -> QueueView:
    expert_id = linked_expert(who) if filters.mine else None
    with svc.sessions.begin() as session:
        rows = tickets.queue(
            session=session,
            statuses=_statuses(filters.status),
            topic=filters.topic or None,
            desk_id=filters.desk_id,
            expert_id=expert_id,
        )
        return QueueView(
            filters=filters,
            tickets=[views.ticket_row(t) for t in rows],
            desks=[DeskOption(id=d.id, name=d.name) for d in tickets.desks(session=session)],
        )


def ticket_page(svc: Services, who: Principal, ticket_id: int) -> TicketPage:
    with svc.sessions.begin() as session:
        ticket = tickets.ticket_detail(ticket_id, session=session)
        messages: list[views.MessageView] = []
        if ticket.conversation_id is not None:
            rows = reading.transcript(session=session, conversation_id=ticket.conversation_id)
            votes = reading.feedback_values(session=session, message_ids=[m.id for m in rows])
            messages = [views.message(m, votes.get(m.id)) for m in rows]
        status = TicketStatus(ticket.status)
        owner = ticket.assigned_expert_id
        is_mine = owner is not None and owner == who.expert_id
        free_or_mine = owner is None or is_mine
        booking = views.active_booking(ticket)
        return TicketPage(
            ticket=views.ticket_row(ticket),
            messages=messages,
            events=[views.event(e) for e in ticket.events],
            notes=[views.note(n) for n in tickets.notes_of(ticket.id, session=session)],
            bookings=[views.appointment(b) for b in ticket.bookings],
            is_mine=is_mine,
            can_claim=who.expert_id is not None
            and status in ALLOWED[Action.CLAIM]
            and owner is None,
            can_reply=who.expert_id is not None
            and status in ALLOWED[Action.REPLY]
            and free_or_mine,
            can_close=status in ALLOWED[Action.CLOSE] and (who.is_staff or is_mine),
            can_cancel=status in ALLOWED[Action.CANCEL] and (who.is_staff or free_or_mine),
            unbook_booking_id=booking.id
            if booking is not None and (who.is_staff or is_mine)
            else None,
            undelivered_emails=tickets.undelivered_emails(ticket.id, session=session),
        )


def claim(svc: Services, who: Principal, ticket_id: int) -> views.TicketRow:
    expert_id = linked_expert(who)
    with svc.sessions.begin() as session:
        tickets.claim(ticket_id, expert_id, session=session, now=svc.clock.now())
        return views.ticket_row(tickets.ticket_detail(ticket_id, session=session))


def reply(svc: Services, who: Principal, ticket_id: int, text: str) -> views.TicketRow:
    expert_id = linked_expert(who)
    with svc.sessions.begin() as session:
        tickets.reply(ticket_id, expert_id, text, session=session, now=svc.clock.now())
        return views.ticket_row(tickets.ticket_detail(ticket_id, session=session))


def add_note(svc: Services, who: Principal, ticket_id: int, text: str) -> views.NoteView:
    with svc.sessions.begin() as session:
        return views.note(
            tickets.add_note(
                ticket_id, who.display_name, text, session=session, now=svc.clock.now()
            )
        )


def close(svc: Services, who: Principal, ticket_id: int, outcome: str) -> views.TicketRow:
    with svc.sessions.begin() as session:
        tickets.close(
            ticket_id,
            outcome,
            session=session,
            settings=svc.settings,
            actor=actor(who),
            now=svc.clock.now(),
        )
        return views.ticket_row(tickets.ticket_detail(ticket_id, session=session))


def cancel(svc: Services, who: Principal, ticket_id: int, reason: str) -> views.TicketRow:
    with svc.sessions.begin() as session:
        ticket = tickets.ticket_detail(ticket_id, session=session)
        owner = ticket.assigned_expert_id
        if not who.is_staff and owner is not None and owner != who.expert_id:
            raise SportelloError(ErrorCode.FORBIDDEN, f"Il ticket {ticket.code} è di un collega.")
        tickets.cancel_ticket(
            ticket_id,
            session=session,
            settings=svc.settings,
            now=svc.clock.now(),
            actor=actor(who),
            reason=reason.strip() or None,
        )
        return views.ticket_row(tickets.ticket_detail(ticket_id, session=session))


def unbook(svc: Services, who: Principal, booking_id: int, reason: str) -> views.AppointmentView:
    with svc.sessions.begin() as session:
        booking = tickets.booking_detail(booking_id, session=session)
        if not who.is_staff and booking.slot.expert_id != who.expert_id:
            raise SportelloError(ErrorCode.FORBIDDEN, "Non è un tuo appuntamento.")
        scheduling.cancel(
            booking_id,
            session=session,
            settings=svc.settings,
            now=svc.clock.now(),
            actor=actor(who),
            reason=reason.strip() or None,
        )
        return views.appointment(tickets.booking_detail(booking_id, session=session))


def appointments(svc: Services, who: Principal) -> list[views.AppointmentView]:
    expert_id = linked_expert(who)
    with svc.sessions.begin() as session:
        rows = tickets.appointments(
            expert_id, session=session, now=svc.clock.now(), days=AGENDA_DAYS
        )
        return [views.appointment(b) for b in rows]


def ics(svc: Services, who: Principal, booking_id: int) -> tuple[str, str]:
    """(file name, calendar) of one of the expert's appointments (staff: any)."""
    with svc.sessions.begin() as session:
        booking = tickets.booking_detail(booking_id, session=session)
        if not who.is_staff and booking.slot.expert_id != who.expert_id:
            raise SportelloError(ErrorCode.FORBIDDEN, "Non è un tuo appuntamento.")
        return f"{booking.ticket.code}.ics", scheduling.booking_ics(booking, now=svc.clock.now())


def availability_view(svc: Services, who: Principal) -> AvailabilityView:
    expert_id = linked_expert(who)
    today = local_today(svc.clock, svc.settings.desk_timezone)
    with svc.sessions.begin() as session:
        desks = {d.id: d for d in tickets.desks(session=session)}
        rules = scheduling.rules_of(expert_id, session=session)
        return AvailabilityView(
            rules=[views.rule(r, {d.id: d.name for d in desks.values()}) for r in rules],
            absences=[
                views.AbsenceView(
                    id=a.id, first_day=a.first_day, last_day=a.last_day, reason=a.reason
                )
                for a in scheduling.absences_of(expert_id, session=session, since=today)
            ],
            desks=[DeskOption(id=d.id, name=d.name) for d in desks.values()],
        )


def _change_availability(
    svc: Services, who: Principal, change: Callable[..., object], *args: object, **values: object
) -> None:
    """One change to the logged-in expert's own rules or absences, in its own transaction."""
    expert_id = linked_expert(who)
    with svc.sessions.begin() as session:
        change(
            expert_id, *args, session=session, settings=svc.settings, now=svc.clock.now(), **values
        )


def add_rule(
    svc: Services,
    who: Principal,
    *,
    desk_id: int,
    weekday: int,
    start: time,
    end: time,
    slot_minutes: int,
) -> None:
    _change_availability(
        svc,
        who,
        scheduling.add_rule,
        desk_id=desk_id,
        weekday=weekday,
        start=start,
        end=end,
        slot_minutes=slot_minutes,
    )


def delete_rule(svc: Services, who: Principal, rule_id: int) -> None:
    _change_availability(svc, who, scheduling.delete_rule, rule_id)


def add_absence(
    svc: Services, who: Principal, *, first_day: date, last_day: date | None, reason: str
) -> None:
    _change_availability(
        svc,
        who,
        scheduling.add_absence,
        first_day=first_day,
        last_day=last_day,
        reason=reason,
    )


def delete_absence(svc: Services, who: Principal, absence_id: int) -> None:
    _change_availability(svc, who, scheduling.delete_absence, absence_id)


def horizon(svc: Services) -> tuple[datetime, datetime]:
    now = svc.clock.now()
    return now, now + timedelta(days=AGENDA_DAYS)


# --- experts on Telegram (known by their chat, not by an account) -------------------------------


def reply_from_chat(svc: Services, chat_ref: str, code: str, text: str) -> ExpertReplied | None:
    """An expert answers a ticket by replying to its notification; None if this chat is not
    an expert's (then the text is the person's own)."""
    with svc.sessions.begin() as session:
        if handover.expert_for_chat(chat_ref, session=session) is None:
            return None
        handover.expert_reply(chat_ref, code, text, session=session, now=svc.clock.now())
        return ExpertReplied(code)


def claim_from_chat(svc: Services, chat_ref: str, code: str) -> str:
    """An expert takes a new ticket from its notification ("Prendo io"); returns its code."""
    with svc.sessions.begin() as session:
        return handover.expert_claim(chat_ref, code, session=session, now=svc.clock.now()).code
