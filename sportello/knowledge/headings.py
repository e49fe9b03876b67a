"""What a section answers: its heading, a question (the knowledge base is written so).

A document may give each heading an English twin (a comment line under the heading): the words
of an English question then meet words of their own language in the section's English lexical
index (sportello.knowledge.keyword_index), not only the glossary's Italian terms."""

from __future__ import annotations

from collections.abc import Iterable

from sportello.knowledge.documents import Chunk


def own_heading(heading: str) -> str:
    """A section's own heading from a chunk's breadcrumb ("Titolo › Domanda?" → "Domanda?")."""
    return heading.split(" › ")[-1].strip()


def section_question(chunk: Chunk) -> str:
    """What a chunk's section answers: its own heading (the KB's headings are questions), with
    the document title before a heading that is not a question ("Riferimenti" says nothing
    alone), or the title for the introduction."""
    heading = own_heading(chunk.heading) or chunk.title
    if not heading.endswith("?") and heading != chunk.title:
        heading = f"{chunk.title}: {heading}"
    return heading


def english_question(title: str, heading: str, title_en: str, heading_en: str) -> str:
    """The English of `section_question` from the twins of the title and of the section's own
    heading: "" when the document does not give the one it needs."""
    own = own_heading(heading)
    if not own:
        return title_en
    if not heading_en:
        return ""
    if not own.endswith("?") and title_en:
        return f"{title_en}: {heading_en}"
    return heading_en


# Headings of the sections that list a document's laws and sources (the KB's convention).
_REFERENCE_HEADINGS = ("riferimenti", "fonti", "normativa di riferimento")


def lists_references(chunk: Chunk) -> bool:
    """Whether the chunk's section lists the laws and sources behind its document ("Riferimenti
    normativi"): it is indexed, so a question naming a law finds the document, but a list of
    references answers no question by itself."""
    return own_heading(chunk.heading).lower().startswith(_REFERENCE_HEADINGS)


def section_questions(chunks: Iterable[Chunk]) -> set[str]:
    """The questions the chunks' sections answer, in Italian and, where the document gives
    them, in English (an English question is compared with the English one)."""
    return {section_question(c) for c in chunks} | {c.question_en for c in chunks if c.question_en}
