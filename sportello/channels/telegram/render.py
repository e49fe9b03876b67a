"""Telegram HTML for replies, flow steps and desk messages, split below the 4,096 limit.

Everything dynamic is escaped with `html.escape`; the only tags are ours (<b>, <i>, <a>).
Splitting happens at paragraph boundaries, then lines, then words, and never inside a tag or
an entity, so each part is valid HTML on its own.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

from sportello.answering.schemas import Reply
from sportello.channels.telegram.texts import Texts
from sportello.desk.handover import Step
from sportello.desk.schemas import Delivery
from sportello.usecases.results import HandoverStep, SlotOffer

MAX_MESSAGE = 4096  # Telegram's limit, in UTF-16 code units after entity parsing
MAX_CAPTION = 1024
# Measuring the HTML source (tags and entities included) is stricter than Telegram, so safe.
_SEPARATORS = ("\n\n", "\n", " ")
_ENTITY_TAIL = re.compile(r"&[#a-zA-Z0-9]{0,10}$")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_html(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at the largest boundary that fits."""
    text = text.strip()
    if utf16_len(text) <= limit:
        return [text] if text else []
    return [p for p in _split(text, limit, 0) if p]


def _split(text: str, limit: int, level: int) -> list[str]:
    if utf16_len(text) <= limit:
        return [text]
    if level == len(_SEPARATORS):
        return _hard_cut(text, limit)
    sep = _SEPARATORS[level]
    parts: list[str] = []
    current = ""
    for piece in text.split(sep):
        candidate = f"{current}{sep}{piece}" if current else piece
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        if utf16_len(piece) <= limit:
            current = piece
        else:  # too long on its own: split it at the next finer boundary
            *done, current = _split(piece, limit, level + 1)
            parts.extend(done)
    if current:
        parts.append(current)
    return [p.strip() for p in parts]


def _hard_cut(text: str, limit: int) -> list[str]:
    """A word longer than a message (a pasted blob): cut it, but not inside an entity or tag."""
    parts = []
    while utf16_len(text) > limit:
        cut = limit
        while utf16_len(text[:cut]) > limit:
            cut -= 1
        head = text[:cut]
        tail_entity = _ENTITY_TAIL.search(head)
        if tail_entity:
            cut = tail_entity.start()
        elif head.rfind("<") > head.rfind(">"):
            cut = head.rfind("<")
        parts.append(text[:cut])
        text = text[cut:]
    parts.append(text)
    return parts


def safe_link(url: str) -> str | None:
    """The URL if it is an absolute http(s) link Telegram will accept, else None."""
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https") and parts.netloc:
        return url.strip()
    return None


def escape(text: str) -> str:
    """Text for a Telegram HTML body: only <, > and & need escaping outside attributes."""
    return html.escape(text, quote=False)


def link(url: str, label: str) -> str:
    href = safe_link(url)
    if href is None:
        return escape(label)
    return f'<a href="{html.escape(href, quote=True)}">{escape(label)}</a>'


def reply_html(reply: Reply, texts: Texts) -> str:
    """The assistant's reply: escaped body, then the numbered sources as links."""
    body = escape(reply.text.strip())
    if not reply.citations:
        return body
    sources = "\n".join(f"[{c.number}] {link(c.link, c.label)}" for c in reply.citations)
    return f"{body}\n\n{texts.html('sources_heading')}\n{sources}"


def step_html(result: HandoverStep, texts: Texts) -> str:
    """A hand-over step: its text, the offered slots as a numbered list (the buttons only have
    room for a short label), the hint; once a ticket is open, how to get back to the assistant."""
    body = escape(result.text)
    if isinstance(result, SlotOffer):
        listed = "\n".join(f"{i}. {escape(s.label)}" for i, s in enumerate(result.slots, 1))
        body = f"{body}\n{listed}"
    if result.hint:
        body = f"{body}\n{escape(result.hint)}"
    if result.step == Step.DONE and result.text:
        return f"{body}\n\n{texts.html('with_expert_hint')}"
    return body


def delivery_html(delivery: Delivery) -> str:
    """A desk outbox message: the subject in bold, then the body."""
    body = escape(delivery.body.strip())
    if delivery.subject:
        return f"<b>{escape(delivery.subject)}</b>\n\n{body}"
    return body
