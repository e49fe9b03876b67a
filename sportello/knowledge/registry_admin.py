"""Staff reads of the fact registry: every fact with its review state, a document's facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from sportello.config import Settings
from sportello.errors import ErrorCode, SportelloError
from sportello.knowledge.admin import months_before
from sportello.knowledge.facts import Fact, Registry, facts_used_by, load_registry
from sportello.knowledge.models import KbDocument

# Formats whose text the registry check can read as it is on disk.
TEXT_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class FactRow:
    fact: Fact
    overdue: bool  # checked longer ago than the review period used for documents


@dataclass(frozen=True)
class DocumentFacts:
    id: str
    title: str
    topic: str | None
    reviewed: date | None
    sources: tuple[str, ...]
    readable: bool  # False for PDF/DOCX/HTML uploads: their figures are not checked
    facts: tuple[FactRow, ...]


def registry(settings: Settings) -> Registry:
    return load_registry(settings.kb_dir)


def _rows(facts: list[Fact] | tuple[Fact, ...], limit: date) -> tuple[FactRow, ...]:
    return tuple(FactRow(fact=f, overdue=f.checked_on < limit) for f in facts)


def list_facts(*, settings: Settings, today: date) -> list[FactRow]:
    """Every registered fact, oldest check first; `overdue` as for documents."""
    limit = months_before(today, settings.kb_review_overdue_months)
    facts = sorted(registry(settings).facts, key=lambda f: (f.checked_on, f.id))
    return list(_rows(facts, limit))


def document_facts(
    *, session: Session, settings: Settings, doc_id: str, today: date
) -> DocumentFacts:
    """One indexed document with the registered facts whose figure it states."""
    row = session.get(KbDocument, doc_id)
    if row is None:
        raise SportelloError(ErrorCode.NOT_FOUND, "document_not_found", doc_id=doc_id)
    path = Path(row.path)
    readable = path.suffix.lower() in TEXT_SUFFIXES and path.is_file()
    used = facts_used_by(path.read_text(encoding="utf-8"), registry(settings)) if readable else []
    limit = months_before(today, settings.kb_review_overdue_months)
    return DocumentFacts(
        id=row.id,
        title=row.title,
        topic=row.topic,
        reviewed=row.reviewed,
        sources=tuple(row.sources or ()),
        readable=readable,
        facts=_rows(used, limit),
    )
