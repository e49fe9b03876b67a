"""The knowledge domain's value types: topics, loaded documents and their chunks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Topic(StrEnum):
    RIFORMA = "riforma"
    RUNTS = "runts"
    FISCALE = "fiscale"
    BILANCIO = "bilancio"
    VOLONTARI = "volontari"
    FUNDRAISING = "fundraising"
    CROWDFUNDING = "crowdfunding"
    COPROGETTAZIONE = "coprogettazione"
    SPORTELLO = "sportello"


TOPIC_LABELS: dict[Topic, str] = {
    Topic.RIFORMA: "Riforma del Terzo settore ed enti",
    Topic.RUNTS: "RUNTS",
    Topic.FISCALE: "Fisco e 5 per mille",
    Topic.BILANCIO: "Bilancio e trasparenza",
    Topic.VOLONTARI: "Volontari e lavoratori",
    Topic.FUNDRAISING: "Raccolta fondi",
    Topic.CROWDFUNDING: "Crowdfunding",
    Topic.COPROGETTAZIONE: "Co-programmazione e co-progettazione",
    Topic.SPORTELLO: "Lo sportello",
}


def web_link(sources: tuple[str, ...]) -> str:
    """The first http(s) source: a link shown to people is never `javascript:` or a file path."""
    return next((s for s in sources if s.startswith(("http://", "https://"))), "")


@dataclass(frozen=True)
class Document:
    """One source document after loading: metadata plus its text (Markdown headings kept)."""

    id: str
    title: str
    text: str
    topic: Topic | None = None
    sources: tuple[str, ...] = ()
    reviewed: date | None = None
    path: str = ""
    format: str = "md"

    @property
    def link(self) -> str:
        return web_link(self.sources)


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage: a bounded piece of one section of a document."""

    id: str
    doc_id: str
    title: str
    heading: str  # heading path below the title, "Sezione › Sottosezione" ("" for the intro)
    text: str
    position: int
    topic: Topic | None = None
    sources: tuple[str, ...] = field(default=())
    # The section's question in English, when the document gives its headings an English twin
    # (see sportello.knowledge.headings); never shown, compared with English questions.
    question_en: str = ""

    @property
    def citation(self) -> str:
        """How a reader sees where the passage comes from: "Titolo › Sezione"."""
        return f"{self.title} › {self.heading}" if self.heading else self.title

    @property
    def link(self) -> str:
        return web_link(self.sources)

    def embedding_text(self) -> str:
        """The text embedded and indexed: citation first, so the section's context is searchable."""
        return f"{self.citation}\n{self.text}"
