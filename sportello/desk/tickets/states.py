"""Ticket life cycle: who acts, which action each state allows, and the refusal people read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sportello.desk.models import TicketStatus
from sportello.errors import ErrorCode, SportelloError


class ActorKind(StrEnum):
    VOLUNTEER = "volunteer"
    EXPERT = "expert"
    STAFF = "staff"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who did something, as written in the ticket's event log ("expert:3", "staff:anna")."""

    kind: ActorKind
    ref: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}" if self.ref else str(self.kind)

    @property
    def bound_by_notice(self) -> bool:
        """Only volunteers are held to the cancel/reschedule notice; staff and experts are not."""
        return self.kind == ActorKind.VOLUNTEER

    @classmethod
    def volunteer(cls) -> Actor:
        return cls(ActorKind.VOLUNTEER)

    @classmethod
    def expert(cls, expert_id: int) -> Actor:
        return cls(ActorKind.EXPERT, str(expert_id))

    @classmethod
    def staff(cls, name: str) -> Actor:
        return cls(ActorKind.STAFF, name)

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorKind.SYSTEM)


class Action(StrEnum):
    CLAIM = "claim"
    BOOK = "book"
    RESCHEDULE = "reschedule"
    UNBOOK = "unbook"  # an expert or staff cancels the appointment; the ticket stays open
    REPLY = "reply"
    CLOSE = "close"
    CANCEL = "cancel"


S = TicketStatus
ALLOWED: dict[Action, frozenset[TicketStatus]] = {
    Action.CLAIM: frozenset({S.NEW}),
    Action.BOOK: frozenset({S.NEW, S.ASSIGNED}),
    Action.RESCHEDULE: frozenset({S.SCHEDULED}),
    Action.UNBOOK: frozenset({S.SCHEDULED}),
    Action.REPLY: frozenset({S.NEW, S.ASSIGNED, S.SCHEDULED, S.ANSWERED}),
    Action.CLOSE: frozenset({S.ASSIGNED, S.SCHEDULED, S.ANSWERED}),
    Action.CANCEL: frozenset({S.NEW, S.ASSIGNED, S.SCHEDULED}),
}

STATUS_LABELS: dict[TicketStatus, str] = {
    S.NEW: "nuovo",
    S.ASSIGNED: "preso in carico",
    S.SCHEDULED: "con appuntamento",
    S.ANSWERED: "risposto",
    S.CLOSED: "chiuso",
    S.CANCELLED: "annullato",
}

ACTION_LABELS: dict[Action, str] = {
    Action.CLAIM: "prenderlo in carico",
    Action.BOOK: "prenotare un appuntamento",
    Action.RESCHEDULE: "spostare l'appuntamento",
    Action.UNBOOK: "annullare l'appuntamento",
    Action.REPLY: "rispondere",
    Action.CLOSE: "chiuderlo",
    Action.CANCEL: "annullarlo",
}


def illegal(code: str, status: TicketStatus, action: Action) -> SportelloError:
    return SportelloError(
        ErrorCode.ILLEGAL_TRANSITION,
        f"Il ticket {code} è «{STATUS_LABELS[TicketStatus(status)]}»: "
        f"non è possibile {ACTION_LABELS[action]}.",
    )


def require(code: str, status: TicketStatus, action: Action) -> None:
    """Raise ILLEGAL_TRANSITION unless `action` is allowed in `status`."""
    if TicketStatus(status) not in ALLOWED[action]:
        raise illegal(code, status, action)
