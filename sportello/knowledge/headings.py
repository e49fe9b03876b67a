"""What a section answers: its heading, a question (the knowledge base is written so)."""

from __future__ import annotations

from collections.abc import Iterable

from sportello.knowledge.documents import Chunk


def section_question(chunk: Chunk) -> str:
    """What a chunk's section answers: its own heading (the KB's headings are questions), with
    the document title before a heading that is not a question ("Riferimenti" says nothing
    alone), or the title for the introduction."""
    heading = chunk.heading.split(" › ")[-1].strip() or chunk.title
    if not heading.endswith("?") and heading != chunk.title:
        heading = f"{chunk.title}: {heading}"
    return heading


def section_questions(chunks: Iterable[Chunk]) -> set[str]:
    return {section_question(c) for c in chunks}
