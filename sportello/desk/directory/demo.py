"""Removing the demo desks and experts (`is_example`, set by `seed-demo` from the example file).

In one transaction: their future bookings are cancelled with a notice to the volunteer (the
outbox delivers it), tickets they had taken go back to the queue for the real experts, then
every booking of their slots (past ones too: demo history) and the rows themselves are deleted.
Tickets stay, with their conversation and history; accounts linked to a demo expert stay, unlinked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from sportello.clock import aware
from sportello.config import Settings
from sportello.desk.directory import queries, retire
from sportello.desk.tickets.states import Actor


@dataclass(frozen=True)
class DemoRemoval:
    desks: int = 0
    experts: int = 0
    cancelled_bookings: int = 0  # future appointments, each volunteer notified
    deleted_bookings: int = 0  # every booking of the demo slots, cancelled or past
    released_tickets: int = 0  # back in the queue, with no expert

    @property
    def nothing(self) -> bool:
        return not (self.desks or self.experts)


def remove_demo(
    *, session: Session, settings: Settings, now: datetime, actor: Actor
) -> DemoRemoval:
    moment = aware(now)
    desk_ids, expert_ids = queries.example_ids(session)
    if not desk_ids and not expert_ids:
        return DemoRemoval()
    settled = retire.settle_bookings(
        "dati dimostrativi",
        retire.BookingDecision.CANCEL,
        "cancel_reason_demo",
        session=session,
        settings=settings,
        now=moment,
        actor=actor,
        expert_ids=expert_ids,
        desk_ids=desk_ids,
    )
    released = retire.release_tickets(session, expert_ids, moment, actor)
    deleted = queries.delete_bookings_of_slots(session, expert_ids, desk_ids)
    queries.delete_experts_and_desks(session, expert_ids, desk_ids)
    return DemoRemoval(len(desk_ids), len(expert_ids), settled.cancelled, deleted, released)
