"""Staff set an expert's e-mail address and what they receive there: the CLI's rules, for the web.

The address is checked by the same function as `sportello desk expert-email` (a typo is refused
with the reason and nothing changes); the hours go from 0 to 23.
"""

from __future__ import annotations

from dataclasses import dataclass

from sportello.desk import notifications, queries
from sportello.desk.models import Expert, NewTicketMail
from sportello.services import Services

MailPreferences = notifications.MailPreferences
__all__ = ["ExpertMail", "MailPreferences", "NewTicketMail", "experts", "update"]


@dataclass(frozen=True)
class ExpertMail:
    slug: str
    name: str
    email: str | None
    new_tickets: NewTicketMail
    digest_hour: int
    bookings: bool
    messages: bool
    agenda: bool
    agenda_hour: int


def _view(expert: Expert) -> ExpertMail:
    return ExpertMail(
        slug=expert.slug,
        name=expert.name,
        email=expert.email,
        new_tickets=NewTicketMail(expert.email_new_tickets),
        digest_hour=expert.email_digest_hour,
        bookings=bool(expert.email_bookings),
        messages=bool(expert.email_messages),
        agenda=bool(expert.email_agenda),
        agenda_hour=expert.email_agenda_hour,
    )


def experts(svc: Services) -> list[ExpertMail]:
    """Every active expert's e-mail settings."""
    with svc.sessions.begin() as session:
        return [_view(e) for e in queries.active_experts(session)]


def update(
    svc: Services, slug: str, email: str, prefs: notifications.MailPreferences
) -> ExpertMail:
    """Set the address (blank: no e-mail at all) and every preference of one expert."""
    with svc.sessions.begin() as session:
        blank = not email.strip()
        expert = notifications.set_expert_email(
            slug, None if blank else email, prefs, session=session, remove=blank
        )
        return _view(expert)
