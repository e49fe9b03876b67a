"""The knowledge-base gaps: questions refused, escalated, answered unsurely or thumbed down.

Staff read them grouped into themes (questions that mean the same thing, by the embedding
model), with counts and examples, to decide which documents to write next.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import numpy as np
from sqlalchemy.orm import Session

from sportello.conversations import reports
from sportello.knowledge.embeddings import Embedder

# Cosine similarity of two query embeddings above which they count as the same question
# (multilingual-e5-small: paraphrases ≈ 0.90-0.96, related but different ≈ 0.80-0.85).
THEME_SIMILARITY = 0.87
EXAMPLES = 3


class GapReason(StrEnum):
    REFUSED = "refused"
    ESCALATED = "escalated"
    LOW_CONFIDENCE = "low_confidence"
    THUMBS_DOWN = "thumbs_down"


REASON_LABELS = {
    GapReason.REFUSED: "rifiutata",
    GapReason.ESCALATED: "passata a un esperto",
    GapReason.LOW_CONFIDENCE: "risposta incerta",
    GapReason.THUMBS_DOWN: "voto negativo",
}


@dataclass(frozen=True)
class Gap:
    message_id: int  # the assistant's reply
    conversation_id: int
    at: datetime
    question: str
    reply: str
    action: str | None
    confidence: float | None
    topic: str | None
    reasons: tuple[GapReason, ...]


@dataclass
class Theme:
    label: str  # the most representative question
    gaps: list[Gap] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.gaps)

    @property
    def topic(self) -> str | None:
        topics = Counter(g.topic for g in self.gaps if g.topic)
        return topics.most_common(1)[0][0] if topics else None

    @property
    def reasons(self) -> dict[str, int]:
        counts = Counter(r for g in self.gaps for r in g.reasons)
        return {r.value: counts[r] for r in GapReason if counts[r]}

    @property
    def examples(self) -> list[Gap]:
        seen: set[str] = set()
        out: list[Gap] = []
        for gap in sorted(self.gaps, key=lambda g: g.at, reverse=True):
            key = gap.question.strip().lower()
            if key not in seen:
                seen.add(key)
                out.append(gap)
            if len(out) == EXAMPLES:
                break
        return out


def find_gaps(
    *, session: Session, since: datetime, low_confidence: float, limit: int = 2000
) -> list[Gap]:
    """Replies since `since` that were refused, escalated, unsure or thumbed down, newest first."""
    gaps = []
    for message, text, vote in reports.gap_candidates(
        session=session, since=since, low_confidence=low_confidence, limit=limit
    ):
        if not text:
            continue
        reasons: list[GapReason] = []
        if message.action == "refuse":
            reasons.append(GapReason.REFUSED)
        if message.action == "escalate":
            reasons.append(GapReason.ESCALATED)
        if (
            message.action == "answer"
            and message.confidence is not None
            and message.confidence < low_confidence
        ):
            reasons.append(GapReason.LOW_CONFIDENCE)
        if vote == -1:
            reasons.append(GapReason.THUMBS_DOWN)
        gaps.append(
            Gap(
                message_id=message.id,
                conversation_id=message.conversation_id,
                at=message.created_at,
                question=text,
                reply=message.text,
                action=message.action,
                confidence=message.confidence,
                topic=message.topic,
                reasons=tuple(reasons),
            )
        )
    return gaps


def group_themes(
    gaps: list[Gap], embedder: Embedder, *, similarity: float = THEME_SIMILARITY
) -> list[Theme]:
    """Group questions that mean the same thing; largest themes first.

    Greedy clustering against each theme's centroid: simple, stable for a few thousand
    questions, and needs no number of clusters chosen in advance.
    """
    if not gaps:
        return []
    vectors = np.stack([embedder.embed_query(g.question[:1000]) for g in gaps]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    members: list[list[int]] = []
    sums: list[np.ndarray] = []
    for index in sorted(range(len(gaps)), key=lambda i: gaps[i].at):
        best, best_score = -1, similarity
        for t, total in enumerate(sums):
            centroid = total / (np.linalg.norm(total) + 1e-12)
            score = float(centroid @ vectors[index])
            if score >= best_score:
                best, best_score = t, score
        if best < 0:
            members.append([index])
            sums.append(vectors[index].copy())
        else:
            members[best].append(index)
            sums[best] += vectors[index]
    themes = []
    for group in members:
        block = vectors[group]
        central = group[int(np.argmax((block @ block.T).sum(axis=1)))]
        themes.append(Theme(label=gaps[central].question.strip(), gaps=[gaps[i] for i in group]))
    themes.sort(key=lambda t: (-t.count, -max(g.at for g in t.gaps).timestamp()))
    return themes


CSV_HEADER = [
    "tema",
    "domande_nel_tema",
    "data",
    "motivi",
    "argomento",
    "confidenza",
    "domanda",
    "risposta",
]


def themes_csv(themes: list[Theme]) -> str:
    """One row per question, with its theme; UTF-8 with BOM so spreadsheet programs read it."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for theme in themes:
        for gap in sorted(theme.gaps, key=lambda g: g.at):
            writer.writerow(
                [
                    _safe_cell(theme.label),
                    theme.count,
                    gap.at.isoformat(timespec="seconds"),
                    "; ".join(REASON_LABELS[r] for r in gap.reasons),
                    gap.topic or "",
                    "" if gap.confidence is None else f"{gap.confidence:.2f}",
                    _safe_cell(gap.question),
                    _safe_cell(gap.reply),
                ]
            )
    return out.getvalue()


def _safe_cell(text: str) -> str:
    """Neutralise spreadsheet formulas in text people typed (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
