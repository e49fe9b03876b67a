"""ORM model of the knowledge domain: one row per indexed document, with its content hash."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sportello.db.base import Base, UTCDateTime, stamp


class DocumentStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class KbDocument(Base):
    __tablename__ = "kb_documents"

    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    topic: Mapped[str | None] = mapped_column(String(40))
    format: Mapped[str] = mapped_column(String(10))
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    reviewed: Mapped[date | None] = mapped_column(Date)
    content_hash: Mapped[str] = mapped_column(String(64))
    chunk_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[DocumentStatus] = mapped_column(String(20), default=DocumentStatus.ACTIVE)
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=stamp)
