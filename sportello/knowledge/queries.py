"""Where the knowledge base's SQL runs: the registry of indexed documents (KbDocument)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sportello.knowledge.models import KbDocument


def documents(session: Session) -> list[KbDocument]:
    """Every registered document, in id order."""
    return list(session.scalars(select(KbDocument).order_by(KbDocument.id)))


def documents_by_topic(session: Session) -> list[KbDocument]:
    """Every registered document, by topic then title (the staff's list)."""
    return list(session.scalars(select(KbDocument).order_by(KbDocument.topic, KbDocument.title)))
