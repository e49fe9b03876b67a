"""ORM models of the help desk: desks, experts, availability, slots, tickets, bookings, outbox."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sportello.db.base import Base, UTCDateTime, stamp


class DeskKind(StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"


class TicketStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    SCHEDULED = "scheduled"
    ANSWERED = "answered"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class BookingStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxKind(StrEnum):
    NEW_TICKET = "new_ticket"
    CONFIRMATION = "confirmation"
    RESCHEDULED = "rescheduled"
    CANCELLATION = "cancellation"
    EXPERT_REPLY = "expert_reply"
    REMINDER = "reminder"
    CLOSED = "closed"
    VOLUNTEER_MESSAGE = "volunteer_message"  # the volunteer wrote again on an expert's ticket
    DIGEST = "digest"  # the day's new tickets in an expert's topics (e-mail)
    AGENDA = "agenda"  # tomorrow's appointments of an expert (e-mail)


class NewTicketMail(StrEnum):
    """How an expert with an e-mail address hears of new tickets in their topics."""

    OFF = "off"
    IMMEDIATE = "immediate"
    DIGEST = "digest"


class EventKind(StrEnum):
    OPENED = "opened"
    CLAIMED = "claimed"
    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    BOOKING_CANCELLED = "booking_cancelled"
    REPLIED = "replied"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    RELEASED = "released"  # back in the queue: its expert was deactivated or removed


# The one predicate both partial unique indexes use; spelled out for SQLite and PostgreSQL.
ACTIVE_BOOKING = text("status = 'active'")


class HelpDesk(Base):
    __tablename__ = "help_desks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[DeskKind] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    meeting_link: Mapped[str | None] = mapped_column(String(500))
    opening_notes: Mapped[str] = mapped_column(Text, default="")
    is_example: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)

    @property
    def location(self) -> str:
        return desk_location(self.kind, self.address, self.meeting_link)


def desk_location(kind: str, address: str | None, meeting_link: str | None) -> str:
    """Where the appointment happens: the street address or the meeting link."""
    return (meeting_link if kind == DeskKind.ONLINE else address) or ""


class Expert(Base):
    __tablename__ = "experts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200), default="")  # e-mail or phone
    telegram_chat_id: Mapped[str | None] = mapped_column(String(40))
    # E-mail: the address (checked at input) and what the expert wants to receive there.
    email: Mapped[str | None] = mapped_column(String(254))
    email_new_tickets: Mapped[NewTicketMail] = mapped_column(
        String(12), default=NewTicketMail.IMMEDIATE
    )
    email_digest_hour: Mapped[int] = mapped_column(SmallInteger, default=8)  # desk-local
    email_bookings: Mapped[bool] = mapped_column(Boolean, default=True)  # booked, moved, cancelled
    email_messages: Mapped[bool] = mapped_column(Boolean, default=True)  # volunteers' messages
    email_agenda: Mapped[bool] = mapped_column(Boolean, default=False)  # tomorrow's appointments
    email_agenda_hour: Mapped[int] = mapped_column(SmallInteger, default=18)  # desk-local
    is_example: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)

    topics: Mapped[list[ExpertTopic]] = relationship(
        back_populates="expert", cascade="all, delete-orphan", order_by="ExpertTopic.topic"
    )

    @property
    def topic_names(self) -> list[str]:
        return [t.topic for t in self.topics]


class ExpertTopic(Base):
    __tablename__ = "expert_topics"

    expert_id: Mapped[int] = mapped_column(
        ForeignKey("experts.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)

    expert: Mapped[Expert] = relationship(back_populates="topics")


class AvailabilityRule(Base):
    """Every `weekday`, from `start_time` to `end_time` (desk-local), slots of `slot_minutes`."""

    __tablename__ = "availability_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), index=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("help_desks.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday … 6 = Sunday
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(SmallInteger)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # Last local day for which slots exist; NULL forces a regeneration.
    generated_until: Mapped[date | None] = mapped_column(Date)


class AvailabilityException(Base):
    """Days without slots: a holiday (no expert, no desk), a desk closure or an absence."""

    __tablename__ = "availability_exceptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int | None] = mapped_column(
        ForeignKey("experts.id", ondelete="CASCADE"), index=True
    )
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("help_desks.id", ondelete="CASCADE"))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")


class Slot(Base):
    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("expert_id", "starts_at", name="uq_slots_expert_id_starts_at"),
        Index("ix_slots_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"))
    desk_id: Mapped[int] = mapped_column(ForeignKey("help_desks.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A free slot no rule produces any more (rule changed, new absence) is withdrawn, not
    # deleted: cancelled bookings keep pointing at it.
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)

    expert: Mapped[Expert] = relationship()
    desk: Mapped[HelpDesk] = relationship()


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    channel: Mapped[str] = mapped_column(String(20))
    volunteer_ref: Mapped[str | None] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[TicketStatus] = mapped_column(String(20), default=TicketStatus.NEW)
    assigned_expert_id: Mapped[int | None] = mapped_column(
        ForeignKey("experts.id", ondelete="SET NULL"), index=True
    )
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assigned_expert: Mapped[Expert | None] = relationship()
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )
    bookings: Mapped[list[Booking]] = relationship(back_populates="ticket", order_by="Booking.id")


class TicketCounter(Base):
    """Last ticket number handed out per year; bumped by one atomic upsert."""

    __tablename__ = "ticket_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class TicketEvent(Base):
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)
    actor: Mapped[str] = mapped_column(String(60))  # "volunteer", "expert:3", "staff:anna"…
    kind: Mapped[EventKind] = mapped_column(String(30))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketNote(Base):
    """An internal note on a ticket: written by experts and staff, never shown to the volunteer."""

    __tablename__ = "ticket_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(200))  # display name at the time of writing
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        # The rule "one active booking per slot" lives in the database, not in the service.
        Index(
            "uq_bookings_active_slot",
            "slot_id",
            unique=True,
            sqlite_where=ACTIVE_BOOKING,
            postgresql_where=ACTIVE_BOOKING,
        ),
        # …and one active appointment per ticket (a double click cannot book two slots).
        Index(
            "uq_bookings_active_ticket",
            "ticket_id",
            unique=True,
            sqlite_where=ACTIVE_BOOKING,
            postgresql_where=ACTIVE_BOOKING,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="RESTRICT"), index=True)
    status: Mapped[BookingStatus] = mapped_column(String(20), default=BookingStatus.ACTIVE)
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # iCalendar SEQUENCE
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(back_populates="bookings")
    slot: Mapped[Slot] = relationship()


class OutboxMessage(Base):
    """A message to deliver, written in the transaction of the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_available_at", "status", "available_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Handed to the channel with every attempt so it can drop a repeat after a crash.
    idempotency_key: Mapped[str] = mapped_column(
        String(120), unique=True, default=lambda: str(uuid.uuid4())
    )
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[OutboxKind] = mapped_column(String(30))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    status: Mapped[OutboxStatus] = mapped_column(String(20), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
