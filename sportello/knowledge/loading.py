"""Loaders: Markdown with YAML front matter, PDF, DOCX, HTML and plain text into Documents."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import yaml
from bs4 import BeautifulSoup

from sportello.errors import ErrorCode, SportelloError
from sportello.knowledge.documents import Document, Topic

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".pdf", ".docx", ".html", ".htm")
# Unzipped size a DOCX may reach: a real document is a few MB; more is a zip bomb.
MAX_DOCX_UNCOMPRESSED = 50_000_000
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)
_REQUIRED_FIELDS = ("title", "topic", "sources", "reviewed")


def _decode_text(data: bytes, name: str) -> str:
    if b"\x00" in data:
        raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "doc_binary", path=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SportelloError(
            ErrorCode.CORRUPT_DOCUMENT, "doc_not_utf8", path=name, byte=exc.start
        ) from exc


def _title_from_text(text: str, fallback: str) -> str:
    match = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else fallback


def _fallback_title(name: str) -> str:
    return Path(name).stem.replace("-", " ").replace("_", " ").strip().capitalize() or name


def parse_front_matter(text: str, name: str) -> tuple[dict[str, object], str]:
    """Split `text` into (front matter mapping, body); no front matter gives ({}, text)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise SportelloError(
            ErrorCode.CORRUPT_DOCUMENT,
            "doc_bad_front_matter",
            path=name,
            error=exc.__class__.__name__,
        ) from exc
    if not isinstance(meta, dict):
        raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "doc_front_matter_not_map", path=name)
    return meta, text[match.end() :]


def validate_front_matter(meta: dict[str, object], name: str) -> None:
    """Raise when a curated document lacks a required field or has an invalid value."""
    missing = [f for f in _REQUIRED_FIELDS if not meta.get(f)]
    if missing:
        raise SportelloError(
            ErrorCode.CORRUPT_DOCUMENT,
            "doc_front_matter_missing",
            path=name,
            fields=", ".join(missing),
        )
    _topic(meta.get("topic"), name)
    _reviewed(meta.get("reviewed"), name)
    sources = _sources(meta.get("sources"), name)
    if not any(s.startswith(("http://", "https://")) for s in sources):
        raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "doc_no_source", path=name)


def _topic(value: object, name: str) -> Topic | None:
    if value in (None, ""):
        return None
    try:
        return Topic(str(value).strip().lower())
    except ValueError as exc:
        allowed = ", ".join(t.value for t in Topic)
        raise SportelloError(
            ErrorCode.CORRUPT_DOCUMENT, "doc_bad_topic", path=name, topic=value, allowed=allowed
        ) from exc


def _reviewed(value: object, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise SportelloError(
            ErrorCode.CORRUPT_DOCUMENT, "doc_bad_reviewed", path=name, value=repr(value)
        ) from exc


def _sources(value: object, name: str) -> tuple[str, ...]:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        return (value.strip(),)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "doc_sources_not_list", path=name)


def load_markdown(data: bytes, name: str, doc_id: str, fmt: str = "md") -> Document:
    text = _decode_text(data, name)
    meta, body = parse_front_matter(text, name)
    body = body.strip()
    if not body:
        raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "doc_empty", path=name)
    # One rule for every Markdown document: no front matter is as incomplete as a missing field
    # (a plain .txt may come without one).
    if fmt == "md" and not meta:
        raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "doc_no_front_matter", path=name)
    if meta:
        validate_front_matter(meta, name)
    return Document(
        id=doc_id,
        title=str(meta.get("title") or _title_from_text(body, _fallback_title(name))),
        text=body,
        topic=_topic(meta.get("topic"), name),
        sources=_sources(meta.get("sources"), name),
        reviewed=_reviewed(meta.get("reviewed"), name),
        path=name,
        format=fmt,
    )


def load_text(data: bytes, name: str, doc_id: str) -> Document:
    return load_markdown(data, name, doc_id, fmt="txt")


def load_pdf(data: bytes, name: str, doc_id: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SportelloError(
            ErrorCode.CORRUPT_DOCUMENT, "pdf_unreadable", path=name, error=exc.__class__.__name__
        ) from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "pdf_no_text", path=name)
    return Document(
        id=doc_id,
        title=str(meta_title).strip() or _fallback_title(name),
        text=text,
        path=name,
        format="pdf",
    )


def load_docx(data: bytes, name: str, doc_id: str) -> Document:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "docx_not_zip", path=name) from exc
    if total > MAX_DOCX_UNCOMPRESSED:
        raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "docx_bomb", path=name, size=total)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise SportelloError(
            ErrorCode.CORRUPT_DOCUMENT, "docx_unreadable", path=name, error=exc.__class__.__name__
        ) from exc
    lines: list[str] = []
    title = ""
    for para in document.paragraphs:
        content = para.text.strip()
        if not content:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        if style == "Title" and not title:
            title = content
            continue
        level = re.match(r"Heading (\d)", style)
        lines.append(f"{'#' * (int(level.group(1)) + 1)} {content}" if level else content)
    text = "\n\n".join(lines)
    if not text:
        raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "docx_no_text", path=name)
    title = title or (document.core_properties.title or "").strip()
    return Document(
        id=doc_id,
        title=title or _title_from_text(text, _fallback_title(name)),
        text=text,
        path=name,
        format="docx",
    )


_HTML_NOISE = ("script", "style", "nav", "header", "footer", "aside", "form", "noscript", "svg")


def load_html(data: bytes, name: str, doc_id: str) -> Document:
    soup = BeautifulSoup(_decode_text(data, name), "html.parser")
    page_title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_HTML_NOISE):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    lines: list[str] = []
    for element in root.find_all(["h1", "h2", "h3", "h4", "p", "li", "td", "pre"]):
        content = element.get_text(" ", strip=True)
        if not content:
            continue
        if element.name in ("h1", "h2", "h3", "h4"):
            lines.append(f"{'#' * int(element.name[1])} {content}")
        elif element.name == "li":
            lines.append(f"- {content}")
        else:
            lines.append(content)
    text = "\n\n".join(lines)
    if not text:
        raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "html_no_text", path=name)
    h1 = root.find("h1")
    title = h1.get_text(" ", strip=True) if h1 else page_title
    return Document(
        id=doc_id, title=title or _fallback_title(name), text=text, path=name, format="html"
    )


LOADERS: dict[str, Callable[[bytes, str, str], Document]] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".html": load_html,
    ".htm": load_html,
}


def load_bytes(data: bytes, name: str, doc_id: str, *, max_bytes: int | None = None) -> Document:
    """Load one document from its bytes; `name` (a file name) picks the loader."""
    suffix = Path(name).suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise SportelloError(
            ErrorCode.UNSUPPORTED_DOCUMENT,
            "doc_bad_format",
            path=name,
            allowed=", ".join(SUPPORTED_SUFFIXES),
        )
    if max_bytes is not None and len(data) > max_bytes:
        raise SportelloError(
            ErrorCode.DOCUMENT_TOO_LARGE,
            "doc_too_large",
            path=name,
            size=len(data),
            limit=max_bytes,
        )
    return loader(data, name, doc_id)


def load_file(path: Path, doc_id: str, *, max_bytes: int | None = None) -> Document:
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise SportelloError(
            ErrorCode.DOCUMENT_TOO_LARGE,
            "doc_too_large",
            path=path.name,
            size=path.stat().st_size,
            limit=max_bytes,
        )
    return load_bytes(path.read_bytes(), str(path), doc_id, max_bytes=max_bytes)
