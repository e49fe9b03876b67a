"""An expert's e-mail address and what they want to receive there (set by staff or the CLI).

Addresses are checked at input, so the outbox never queues mail for something that cannot be
an address: a typo is refused here with an Italian message, not discovered by an SMTP server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sportello.desk import queries
from sportello.desk.models import Expert, NewTicketMail
from sportello.errors import ErrorCode, SportelloError

# A practical subset of RFC 5322 addr-spec: dot-atom local part, a domain of labels with a
# top-level part of letters. Quoted local parts and address literals are not accepted.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"^(?P<local>{_LOCAL})@(?P<domain>(?:{_LABEL}\.)+[A-Za-z]{{2,63}})$")


def normalize_email(raw: str) -> str:
    """The address, trimmed and with a lower-case domain; SportelloError if it is not one."""
    text = raw.strip()
    try:
        domain = text.rsplit("@", 1)[1] if "@" in text else ""
        ascii_domain = domain.encode("idna").decode("ascii") if domain else ""
    except UnicodeError:
        ascii_domain = ""
    candidate = f"{text.rsplit('@', 1)[0]}@{ascii_domain.lower()}" if ascii_domain else text
    found = _ADDRESS.match(candidate)
    if found is None or len(candidate) > 254 or len(found["local"]) > 64:
        raise SportelloError(
            ErrorCode.INVALID_INPUT,
            f"«{raw.strip()[:80]}» non è un indirizzo e-mail valido: scrivilo nella forma "
            "nome@dominio.it, senza spazi.",
        )
    return candidate


@dataclass(frozen=True)
class MailPreferences:
    """What an expert receives by e-mail; None leaves a field as it is."""

    new_tickets: NewTicketMail | None = None
    digest_hour: int | None = None
    bookings: bool | None = None
    messages: bool | None = None
    agenda: bool | None = None
    agenda_hour: int | None = None


def _hour(value: int) -> int:
    if not 0 <= value <= 23:
        raise SportelloError(ErrorCode.INVALID_INPUT, "L'ora va indicata da 0 a 23.")
    return value


def set_expert_email(
    slug: str,
    email: str | None,
    prefs: MailPreferences,
    *,
    session: Session,
    remove: bool = False,
) -> Expert:
    """Set (or, with `remove`, clear) an expert's address and update their preferences."""
    expert = queries.expert_by_slug(session, slug)
    if expert is None:
        raise SportelloError(ErrorCode.NOT_FOUND, f"Nessun esperto con codice «{slug}».")
    if remove:
        expert.email = None
    elif email is not None:
        expert.email = normalize_email(email)
    if prefs.new_tickets is not None:
        expert.email_new_tickets = prefs.new_tickets
    if prefs.digest_hour is not None:
        expert.email_digest_hour = _hour(prefs.digest_hour)
    if prefs.bookings is not None:
        expert.email_bookings = prefs.bookings
    if prefs.messages is not None:
        expert.email_messages = prefs.messages
    if prefs.agenda is not None:
        expert.email_agenda = prefs.agenda
    if prefs.agenda_hour is not None:
        expert.email_agenda_hour = _hour(prefs.agenda_hour)
    session.flush([expert])
    return expert


def describe(expert: Expert) -> dict[str, object]:
    """The expert's e-mail settings as plain data (CLI, admin)."""
    return {
        "expert": expert.slug,
        "email": expert.email,
        "new_tickets": str(expert.email_new_tickets),
        "digest_hour": expert.email_digest_hour,
        "bookings": expert.email_bookings,
        "messages": expert.email_messages,
        "agenda": expert.email_agenda,
        "agenda_hour": expert.email_agenda_hour,
    }
