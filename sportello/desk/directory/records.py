"""Desks and experts as staff edit them: one validation for the web admin and the CLI.

`DeskFields` / `ExpertFields` carry what a form or a command line typed; `save_desk` and
`save_expert` check every field (Italian messages naming it), then create or update the row.
A failed check raises before anything is written, so nothing stored is lost.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from sportello.desk import queries as desk_queries
from sportello.desk.directory import queries
from sportello.desk.directory.texts import error
from sportello.desk.models import DeskKind, Expert, ExpertTopic, HelpDesk
from sportello.errors import ErrorCode
from sportello.knowledge.documents import Topic

NAME_LIMIT = 200
CHAT_ID = re.compile(r"^-?\d{1,20}$")


@dataclass
class DeskFields:
    name: str
    kind: str = DeskKind.IN_PERSON
    address: str = ""
    meeting_link: str = ""
    opening_notes: str = ""  # the desk's hours and notes, as people read them


@dataclass
class ExpertFields:
    name: str
    topics: list[str] = field(default_factory=list)
    contact: str = ""  # phone or e-mail people may be given
    telegram_chat_id: str = ""


def slugify(name: str) -> str:
    """'Sportello di Fermo' → 'sportello-di-fermo' (ASCII, for codes and the CLI)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:50] or "voce"


def _unique_slug(session: Session, model: type[HelpDesk] | type[Expert], name: str) -> str:
    base = slugify(name)
    slug, n = base, 1
    while queries.slug_taken(session, model, slug):
        n += 1
        slug = f"{base}-{n}"
    return slug


def _text(value: str | None, label: str, limit: int) -> str:
    cleaned = " ".join((value or "").split()) if limit <= NAME_LIMIT else (value or "").strip()
    if len(cleaned) > limit:
        raise error(ErrorCode.INVALID_INPUT, "too_long", field=label, limit=limit)
    return cleaned


def _name(value: str) -> str:
    name = " ".join((value or "").split())
    if not 2 <= len(name) <= NAME_LIMIT:
        raise error(ErrorCode.INVALID_INPUT, "name_required", limit=NAME_LIMIT)
    return name


def _link(value: str) -> str | None:
    link = value.strip()
    if not link:
        return None
    parts = urlsplit(link)
    if parts.scheme != "https" or not parts.hostname or "." not in parts.hostname or " " in link:
        raise error(ErrorCode.INVALID_INPUT, "link_invalid", value=link[:80])
    return _text(link, "link", 500)


def check_desk(fields: DeskFields) -> DeskFields:
    """The fields cleaned, or INVALID_INPUT naming what is wrong."""
    try:
        kind = DeskKind(fields.kind)
    except ValueError:
        raise error(ErrorCode.INVALID_INPUT, "desk_kind_unknown", value=fields.kind) from None
    cleaned = DeskFields(
        name=_name(fields.name),
        kind=kind,
        address=_text(fields.address, "indirizzo", 300),
        meeting_link=_link(fields.meeting_link) or "",
        opening_notes=_text(fields.opening_notes, "orari e note", 2000),
    )
    if kind == DeskKind.IN_PERSON and not cleaned.address:
        raise error(ErrorCode.INVALID_INPUT, "desk_needs_address")
    if kind == DeskKind.ONLINE and not cleaned.meeting_link:
        raise error(ErrorCode.INVALID_INPUT, "desk_needs_link")
    return cleaned


def get_desk(session: Session, desk_id: int) -> HelpDesk:
    desk = session.get(HelpDesk, desk_id)
    if desk is None:
        raise error(ErrorCode.NOT_FOUND, "desk_not_found", ref=desk_id)
    return desk


def find_desk(session: Session, ref: str) -> HelpDesk:
    """A desk by id or by code (slug), as the CLI names it."""
    desk = (
        session.get(HelpDesk, int(ref))
        if ref.isdigit()
        else desk_queries.desk_by_slug(session, ref)
    )
    if desk is None:
        raise error(ErrorCode.NOT_FOUND, "desk_not_found", ref=ref)
    return desk


def save_desk(session: Session, fields: DeskFields, desk_id: int | None = None) -> HelpDesk:
    """Create a desk (active, not demo) or update one; the code (slug) never changes."""
    desk = get_desk(session, desk_id) if desk_id is not None else None
    cleaned = check_desk(fields)
    if desk is None:
        desk = HelpDesk(slug=_unique_slug(session, HelpDesk, cleaned.name), is_example=False)
        desk.active = True
        session.add(desk)
    desk.name, desk.kind = cleaned.name, DeskKind(cleaned.kind)
    desk.address = cleaned.address or None
    desk.meeting_link = cleaned.meeting_link or None
    desk.opening_notes = cleaned.opening_notes
    session.flush()
    return desk


def check_expert(session: Session, fields: ExpertFields, expert_id: int | None) -> ExpertFields:
    topics: list[str] = []
    for raw in fields.topics:
        value = raw.strip()
        if not value:
            continue
        try:
            topics.append(Topic(value).value)
        except ValueError:
            known = ", ".join(t.value for t in Topic)
            raise error(
                ErrorCode.INVALID_INPUT, "topic_unknown", value=value[:40], known=known
            ) from None
    if not topics:
        raise error(ErrorCode.INVALID_INPUT, "topics_required")
    chat = fields.telegram_chat_id.strip()
    if chat and not CHAT_ID.match(chat):
        raise error(ErrorCode.INVALID_INPUT, "chat_id_invalid", value=chat[:40])
    if chat:
        other = queries.expert_with_chat(session, chat, expert_id)
        if other is not None:
            raise error(ErrorCode.CONFLICT, "chat_id_taken", value=chat, other=other.name)
    return ExpertFields(
        name=_name(fields.name),
        topics=list(dict.fromkeys(topics)),
        contact=_text(fields.contact, "contatto", 200),
        telegram_chat_id=chat,
    )


def get_expert(session: Session, expert_id: int) -> Expert:
    expert = desk_queries.get_expert(session, expert_id)
    if expert is None:
        raise error(ErrorCode.NOT_FOUND, "expert_not_found", ref=expert_id)
    return expert


def find_expert(session: Session, ref: str) -> Expert:
    """An expert by id or by code (slug), as the CLI names them."""
    expert = (
        desk_queries.get_expert(session, int(ref))
        if ref.isdigit()
        else desk_queries.expert_by_slug(session, ref)
    )
    if expert is None:
        raise error(ErrorCode.NOT_FOUND, "expert_not_found", ref=ref)
    return expert


def save_expert(session: Session, fields: ExpertFields, expert_id: int | None = None) -> Expert:
    """Create an expert (active, not demo) or update one; e-mail settings are not touched here."""
    expert = get_expert(session, expert_id) if expert_id is not None else None
    cleaned = check_expert(session, fields, expert_id)
    if expert is None:
        expert = Expert(slug=_unique_slug(session, Expert, cleaned.name), is_example=False)
        expert.active = True
        session.add(expert)
    expert.name, expert.contact = cleaned.name, cleaned.contact
    expert.telegram_chat_id = cleaned.telegram_chat_id or None
    kept = {t.topic: t for t in expert.topics}
    expert.topics = [kept.get(t) or ExpertTopic(topic=t) for t in cleaned.topics]
    session.flush()
    return expert
