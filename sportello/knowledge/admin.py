"""Staff actions on the knowledge base: the document list, uploads and promoted FAQs.

Uploaded files live in `<data_dir>/uploads/` (indexed with the curated folder); a file name
from a browser is never trusted: it is reduced to safe ASCII and the path checked to stay in
that folder.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath

import yaml
from sqlalchemy.orm import Session

from sportello.config import Settings
from sportello.errors import ErrorCode, SportelloError
from sportello.knowledge import queries
from sportello.knowledge.documents import Topic
from sportello.knowledge.loading import load_bytes
from sportello.knowledge.models import DocumentStatus

UPLOAD_SUFFIXES = (".md", ".pdf", ".docx", ".html", ".htm", ".txt")
# What the first bytes of a binary format must be (the rest is checked by parsing it).
MAGIC = {".pdf": b"%PDF-", ".docx": b"PK\x03\x04"}
FAQ_PREFIX = "faq-"


@dataclass(frozen=True)
class DocumentRow:
    id: str
    title: str
    topic: str | None
    format: str
    chunks: int
    reviewed: date | None
    overdue: bool
    status: DocumentStatus
    uploaded: bool
    sources: tuple[str, ...]


def uploads_dir(settings: Settings) -> Path:
    return settings.resolved_data_dir() / "uploads"


def months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    last_day = [
        31,
        29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][month]
    return date(year, month + 1, min(day.day, last_day))


def list_documents(*, session: Session, settings: Settings, today: date) -> list[DocumentRow]:
    """Every indexed document; `overdue` when never reviewed or reviewed too long ago."""
    limit = months_before(today, settings.kb_review_overdue_months)
    uploads = uploads_dir(settings)
    rows = queries.documents_by_topic(session)
    return [
        DocumentRow(
            id=row.id,
            title=row.title,
            topic=row.topic,
            format=row.format,
            chunks=row.chunk_count,
            reviewed=row.reviewed,
            overdue=row.reviewed is None or row.reviewed < limit,
            status=DocumentStatus(row.status),
            uploaded=Path(row.path).is_relative_to(uploads),
            sources=tuple(row.sources or ()),
        )
        for row in rows
    ]


def safe_stem(name: str) -> str:
    """A browser's file name reduced to lowercase ASCII words joined by dashes."""
    stem = PurePosixPath(name.replace("\\", "/")).stem
    # Accents come off ("è" → "e"); any other non-ASCII character separates words.
    ascii_stem = "".join(
        c if c.isascii() else "-"
        for c in unicodedata.normalize("NFKD", stem)
        if not unicodedata.combining(c)
    )
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_stem.lower()).strip("-")
    cleaned = cleaned[:80].strip("-") or "documento"
    # Ingest skips README files (a folder's notes, not content): an upload must not be one.
    return "documento-readme" if cleaned == "readme" else cleaned


def check_upload(filename: str, data: bytes, settings: Settings) -> str:
    """Refuse what we do not index (type, size, content); returns the lower-case suffix."""
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        allowed = ", ".join(s.lstrip(".") for s in UPLOAD_SUFFIXES)
        if not suffix:
            raise SportelloError(
                ErrorCode.UNSUPPORTED_DOCUMENT, "upload_no_suffix", allowed=allowed
            )
        raise SportelloError(
            ErrorCode.UNSUPPORTED_DOCUMENT, "upload_bad_suffix", suffix=suffix, allowed=allowed
        )
    if not data:
        raise SportelloError(ErrorCode.INVALID_INPUT, "file_empty")
    if len(data) > settings.upload_max_bytes:
        raise SportelloError(
            ErrorCode.DOCUMENT_TOO_LARGE,
            "file_too_large",
            mb=settings.upload_max_bytes // 1_000_000,
        )
    magic = MAGIC.get(suffix)
    if magic is not None and not data.startswith(magic):
        raise SportelloError(
            ErrorCode.UNSUPPORTED_DOCUMENT, "content_not_format", format=suffix.lstrip(".").upper()
        )
    # Parse it now: a corrupt or empty document is refused before anything is written.
    load_bytes(data, f"upload{suffix}", "upload", max_bytes=settings.upload_max_bytes)
    return suffix


def _target(folder: Path, stem: str, suffix: str) -> Path:
    """Same name and format replaces the earlier upload; the same name in another format
    gets a number (the document id is the name without extension)."""
    candidate, n = stem, 1
    while any(p.suffix.lower() != suffix for p in folder.glob(f"{candidate}.*")):
        n += 1
        candidate = f"{stem}-{n}"
    path = (folder / f"{candidate}{suffix}").resolve()
    if not path.is_relative_to(folder.resolve()):
        raise SportelloError(ErrorCode.INVALID_INPUT, "bad_filename")
    return path


def save_upload(filename: str, data: bytes, *, settings: Settings) -> Path:
    """Check and store an uploaded document under the uploads folder; returns its path."""
    suffix = check_upload(filename, data, settings)
    folder = uploads_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = _target(folder, safe_stem(filename), suffix)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def write_faq(
    *,
    settings: Settings,
    title: str,
    topic: str,
    question: str,
    answer: str,
    sources: list[str],
    reviewed: date,
) -> Path:
    """A reviewed expert answer as a curated Markdown document (front matter + Q&A)."""
    title, question, answer = title.strip(), question.strip(), answer.strip()
    if not (title and question and answer):
        raise SportelloError(ErrorCode.INVALID_INPUT, "faq_fields_missing")
    try:
        topic_value = Topic(topic).value
    except ValueError:
        raise SportelloError(ErrorCode.INVALID_INPUT, "unknown_topic", topic=topic) from None
    links = [s.strip() for s in sources if s.strip()]
    if not any(s.startswith(("http://", "https://")) for s in links):
        raise SportelloError(ErrorCode.INVALID_INPUT, "faq_source_missing")
    meta = {
        "title": title,
        "topic": topic_value,
        "sources": links,
        "reviewed": reviewed.isoformat(),
        "audience": "volontari",
    }
    heading = question.splitlines()[0][:200]
    body = f"# {title}\n\n## {heading}\n\n{answer}\n"
    text = "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n" + body
    folder = uploads_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = _target(folder, FAQ_PREFIX + safe_stem(title), ".md")
    data = text.encode("utf-8")
    load_bytes(data, path.name, "faq")  # the loader's own validation, before writing
    path.write_bytes(data)
    return path
