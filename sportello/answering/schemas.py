"""What the assistant returns: a Reply with its action, confidence and numbered citations."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Action(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Citation:
    """A numbered source of a reply: one retrieved chunk."""

    number: int
    doc_id: str
    chunk_id: str
    title: str
    heading: str
    link: str

    @property
    def label(self) -> str:
        return f"{self.title} › {self.heading}" if self.heading else self.title

    def as_dict(self) -> dict[str, object]:
        return {
            "number": self.number,
            "doc_id": self.doc_id,
            "chunk_id": self.chunk_id,
            "title": self.title,
            "heading": self.heading,
            "link": self.link,
            "label": self.label,
        }


@dataclass(frozen=True)
class Turn:
    """One earlier message of the conversation, as the assistant sees it."""

    role: str  # "user" | "assistant" | "expert"
    text: str
    topic: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class Reply:
    """The assistant's answer to one message.

    `text` is the body without the source list; `render_sources()` gives the numbered list
    ("[1] Titolo › Sezione — link") that channels show below it.
    """

    text: str
    action: Action
    confidence: float
    citations: tuple[Citation, ...] = ()
    topic: str | None = None
    suggestions: tuple[str, ...] = ()  # related questions the person may ask next
    offer_expert: bool = False  # show "Parla con un esperto"
    language: str = "it"
    reason: str = ""  # which rule decided (guard name, "low_confidence"…), for staff and logs
    query: str = ""  # the (possibly rewritten) query used for retrieval
    fallback: bool = field(default=False)  # an LLM failure made us answer extractively

    def render_sources(self) -> str:
        return "\n".join(
            f"[{c.number}] {c.label}" + (f" — {c.link}" if c.link else "") for c in self.citations
        )

    def full_text(self) -> str:
        """The whole reply a person reads: body, then the numbered sources."""
        sources = self.render_sources()
        if not sources:
            return self.text
        heading = "Fonti:" if self.language == "it" else "Sources:"
        return f"{self.text}\n\n{heading}\n{sources}"
