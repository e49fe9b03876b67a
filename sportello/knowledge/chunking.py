"""Split documents into chunks along their headings, bounded in tokens of the embedding model."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sportello.knowledge.documents import Chunk, Document
from sportello.knowledge.headings import english_question
from sportello.knowledge.sentences import split_sentences

TokenCounter = Callable[[str], int]
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# The English twin of the heading just above: `<!-- en: How do we register in the RUNTS? -->`.
_ENGLISH = re.compile(r"^\s*<!--\s*en:\s*(.*?)\s*-->\s*$")


@dataclass
class Section:
    path: tuple[str, ...]
    text: str
    heading_en: str = ""  # the English twin of the section's own heading ("" when none)
    title_en: str = ""  # the English twin of the document's title line


def split_sections(document: Document) -> list[Section]:
    """Sections of a Markdown-structured text, each with the heading path that leads to it.

    A heading may be followed by a comment line giving its English twin (the same question in
    English, indexed for English questions, see sportello.knowledge.headings): the line is read
    into the section and never into its text. Such a comment anywhere else is dropped too."""
    stack: list[tuple[int, str]] = []
    sections: list[Section] = []
    buffer: list[str] = []
    english: dict[int, str] = {}  # stack depth -> the English of the heading at that depth
    title_en = ""
    after_heading: int | None = None  # the depth of the heading just read (title line: 0)

    def flush() -> None:
        text = "\n".join(buffer).strip()
        if text:
            heading_en = english.get(len(stack), "") if stack else ""
            sections.append(Section(tuple(h for _, h in stack), text, heading_en, title_en))
        buffer.clear()

    in_code = False
    for line in document.text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        twin = None if in_code else _ENGLISH.match(line)
        if twin:
            if after_heading == 0:
                title_en = twin.group(1)
            elif after_heading is not None:
                english[after_heading] = twin.group(1)
            after_heading = None
            continue
        match = None if in_code else _HEADING.match(line)
        if not match:
            buffer.append(line)
            if line.strip():
                after_heading = None
            continue
        flush()
        level, heading = len(match.group(1)), match.group(2).strip()
        if level == 1 and (heading.casefold() == document.title.casefold() or not sections):
            # The document's own title line (even when worded a little differently from the
            # front-matter title) is not a section of it.
            stack.clear()
            english.clear()
            after_heading = 0
            continue
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        english.pop(len(stack), None)
        after_heading = len(stack)
    flush()
    return sections


def _split_long(sentence: str, budget: int, count: TokenCounter) -> list[str]:
    """Cut a sentence that alone exceeds the budget into word runs that fit."""
    words = sentence.split()
    parts: list[str] = []
    current: list[str] = []
    for word in words:
        candidate = " ".join([*current, word])
        if current and count(candidate) > budget:
            parts.append(" ".join(current))
            current = [word]
        else:
            current.append(word)
    if current:
        parts.append(" ".join(current))
    return parts


def chunk_document(
    document: Document, count_tokens: TokenCounter, max_tokens: int, overlap_tokens: int
) -> list[Chunk]:
    """Chunks of `document`: one or more per section, each within `max_tokens` with its citation."""
    chunks: list[Chunk] = []
    lengths = _JoinedLengths(count_tokens)
    for section in split_sections(document):
        heading = " › ".join(section.path)
        citation = f"{document.title} › {heading}" if heading else document.title
        budget = max(16, max_tokens - count_tokens(citation))
        units: list[str] = []
        for sentence in split_sentences(section.text):
            if lengths.one(sentence) > budget:
                units.extend(_split_long(sentence, budget, count_tokens))
            else:
                units.append(sentence)
        current: list[str] = []
        for unit in units:
            if current and lengths.joined([*current, unit], budget) > budget:
                chunks.append(_make_chunk(document, section, current, len(chunks)))
                current = _overlap(current, overlap_tokens, lengths)
                if current and lengths.joined([*current, unit], budget) > budget:
                    current = []
            current.append(unit)
        if current:
            chunks.append(_make_chunk(document, section, current, len(chunks)))
    return chunks


class _JoinedLengths:
    """Token counts of sentences joined by spaces, from each sentence's count (memoised).

    Counting every growing join re-tokenised a section once per sentence (quadratic: ~13 s of
    a ~100 s first ingest). A join costs the parts' counts plus a fixed per-boundary term,
    measured on the model's tokenizer; within `SLACK` of a bound the exact count decides,
    so chunk boundaries stay those of exact counting.
    """

    SLACK = 4

    def __init__(self, count: TokenCounter) -> None:
        self.count = count
        self.base = count("")  # the specials and prefix every count includes
        self.boundary = count("a b") - count("a") - count("b") + self.base
        self._memo: dict[str, int] = {}

    def one(self, text: str) -> int:
        found = self._memo.get(text)
        if found is None:
            found = self._memo[text] = self.count(text)
        return found

    def joined(self, parts: list[str], bound: int) -> int:
        estimate = (
            self.base
            + sum(self.one(p) - self.base for p in parts)
            + self.boundary * (len(parts) - 1)
        )
        if abs(estimate - bound) <= self.SLACK:
            return self.count(" ".join(parts))
        return estimate


def _overlap(previous: list[str], overlap_tokens: int, lengths: _JoinedLengths) -> list[str]:
    """The trailing sentences of the previous chunk that fit in the overlap budget."""
    kept: list[str] = []
    for sentence in reversed(previous):
        if lengths.joined([sentence, *kept], overlap_tokens) > overlap_tokens:
            break
        kept.insert(0, sentence)
    return kept


def _make_chunk(document: Document, section: Section, sentences: list[str], position: int) -> Chunk:
    heading = " › ".join(section.path)
    return Chunk(
        id=f"{document.id}#{position}",
        doc_id=document.id,
        title=document.title,
        heading=heading,
        text="\n\n".join(sentences),
        position=position,
        topic=document.topic,
        sources=document.sources,
        question_en=english_question(document.title, heading, section.title_en, section.heading_en),
    )
