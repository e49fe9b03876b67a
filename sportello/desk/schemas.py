"""Pydantic views handed to the edges (channels, CLI) and the demo-data file format."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sportello.desk.models import BookingStatus, DeskKind, OutboxKind, TicketStatus
from sportello.knowledge.documents import Topic


class SlotOffer(BaseModel):
    """A free slot as a volunteer sees it; `label` is ready to show (Italian, desk time)."""

    model_config = ConfigDict(frozen=True)

    slot_id: int
    starts_at: datetime
    ends_at: datetime
    local_start: datetime
    desk_id: int
    desk_name: str
    desk_kind: DeskKind
    location: str
    expert_id: int
    expert_name: str
    label: str


class TicketView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    status: TicketStatus
    topic: str
    summary: str
    channel: str
    conversation_id: int | None
    assigned_expert_id: int | None
    outcome: str | None
    created_at: datetime
    updated_at: datetime


class BookingView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    uid: str
    ticket_id: int
    slot_id: int
    status: BookingStatus
    sequence: int
    booked_at: datetime


class Delivery(BaseModel):
    """What a channel's sender receives; it should drop a repeat of `idempotency_key`."""

    model_config = ConfigDict(frozen=True)

    id: int
    idempotency_key: str
    channel: str
    recipient: str | None
    kind: OutboxKind
    subject: str
    body: str
    payload: dict[str, Any]
    attempt: int
    ticket_id: int | None = None  # for links back to the ticket (e-mail)


class DeliveryReport(BaseModel):
    sent: int = 0
    retried: int = 0
    failed: int = 0


class SlotRefreshReport(BaseModel):
    created: int = 0
    withdrawn: int = 0
    restored: int = 0
    # Active bookings on slots no rule produces any more: staff must move them by hand.
    conflicting_booking_ids: list[int] = Field(default_factory=list)


# --- demo / deployment data file (sportello/desk/demo_data.yaml) -----------------------------


class DeskSeed(BaseModel):
    slug: str
    name: str
    kind: DeskKind
    address: str | None = None
    meeting_link: str | None = None
    opening_notes: str = ""


WEEKDAY_NAMES = ["lunedi", "martedi", "mercoledi", "giovedi", "venerdi", "sabato", "domenica"]


class RuleSeed(BaseModel):
    desk: str
    weekday: int = Field(ge=0, le=6)  # 0 = lunedì; the Italian name is accepted too
    start: time
    end: time
    slot_minutes: int = Field(30, ge=10, le=240)

    @field_validator("weekday", mode="before")
    @classmethod
    def _weekday_name(cls, value: object) -> object:
        if isinstance(value, str) and not value.isdigit():
            name = value.strip().lower().replace("ì", "i")
            if name not in WEEKDAY_NAMES:
                raise ValueError(f"giorno sconosciuto {value!r}")
            return WEEKDAY_NAMES.index(name)
        return value

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: time, info: Any) -> time:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError("l'orario di fine deve seguire quello di inizio")
        return end


class ExpertSeed(BaseModel):
    slug: str
    name: str
    contact: str = ""
    telegram_chat_id: str | None = None
    email: str | None = None  # checked like at the CLI; absent = left as it is
    topics: list[Topic]
    availability: list[RuleSeed] = Field(default_factory=list)


class ExceptionSeed(BaseModel):
    first_day: date
    last_day: date | None = None
    reason: str = ""
    desk: str | None = None
    expert: str | None = None


class SeedData(BaseModel):
    example: bool = False
    desks: list[DeskSeed]
    experts: list[ExpertSeed]
    exceptions: list[ExceptionSeed] = Field(default_factory=list)

    @field_validator("experts")
    @classmethod
    def _known_desks(cls, experts: list[ExpertSeed], info: Any) -> list[ExpertSeed]:
        slugs = {d.slug for d in info.data.get("desks", [])}
        for expert in experts:
            for rule in expert.availability:
                if rule.desk not in slugs:
                    raise ValueError(f"{expert.slug}: sportello sconosciuto {rule.desk!r}")
        return experts


class SeedReport(BaseModel):
    desks: int = 0
    experts: int = 0
    rules: int = 0
    exceptions: int = 0
    skipped: bool = False
    slots: SlotRefreshReport = Field(default_factory=SlotRefreshReport)
    # A real file replaces the demo data (desk/directory/demo.py).
    demo_desks_removed: int = 0
    demo_experts_removed: int = 0
    demo_bookings_cancelled: int = 0
    demo_tickets_released: int = 0
