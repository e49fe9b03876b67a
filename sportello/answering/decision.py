"""Weigh the retrieval evidence behind an answer, and the intent vote against it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from sportello.answering.intents import ACTION_OF, INTENTS_DIR, Intent, IntentResult
from sportello.answering.linear import Linear
from sportello.knowledge.documents import Chunk
from sportello.knowledge.keyword_index import tokenize
from sportello.knowledge.retrieval import RetrievedChunk


@dataclass(frozen=True)
class Evidence:
    """Retrieval evidence behind a confidence figure."""

    top_dense: float
    coverage: float
    top_lexical: float
    confidence: float
    english_heading: float | None = None  # best similarity to the hits' English headings


def evidence(
    query: str,
    hits: list[RetrievedChunk],
    dense_floor: float,
    dense_span: float,
    lexical_full: float,
    idf: Callable[[str], float],
    stems: Callable[[Chunk], frozenset[str]],
    *,
    english_lexical: float | None = None,
    english_heading: float | None = None,
    heading_weight: float = 0.0,
) -> Evidence:
    """Confidence in [0, 1] from three signals of the retrieved chunks:
    - 0.4 × the best dense similarity, scaled between `dense_floor` and floor + `dense_span`;
    - 0.3 × the share of the query (stems weighted by IDF) that the best three chunks contain;
    - 0.3 × the best BM25 score, scaled to `lexical_full` (rare shared words score high).
    A question in English meets Italian documents, whose words are not its own: the share of
    its words found says nothing (measured with the glossary's Italian terms too, it did not
    tell covered questions from uncovered ones), so its confidence is the multilingual dense
    similarity plus `english_lexical` × the scaled BM25 score (of the query with its glossary
    terms), scaled between the floor and floor + span. That dense similarity is averaged with
    `english_heading` (weight `heading_weight`), the question's best similarity to the English
    twins of its hits' headings: a comparison in its own language, which tells covered
    questions from uncovered ones better than the cross-language similarity alone (AUC and
    cross-validated action accuracy printed by `python -m bench.intents`)."""
    if not hits:
        return Evidence(0.0, 0.0, 0.0, 0.0)
    top_dense = max((h.dense_score or 0.0) for h in hits)
    top_lexical = max((h.lexical_score or 0.0) for h in hits)
    weights = {stem: idf(stem) for stem in set(tokenize(query))}
    found: set[str] = set()
    for hit in hits[:3]:
        found |= stems(hit.chunk)  # precomputed per chunk: no chunk text is tokenised here
    total = sum(weights.values())
    coverage = sum(w for s, w in weights.items() if s in found) / total if total else 0.0
    confidence = confidence_of(
        top_dense,
        coverage,
        top_lexical,
        dense_floor,
        dense_span,
        lexical_full,
        english_lexical=english_lexical,
        english_heading=english_heading,
        heading_weight=heading_weight,
    )
    return Evidence(top_dense, coverage, top_lexical, confidence, english_heading)


def confidence_of(
    top_dense: float,
    coverage: float,
    top_lexical: float,
    dense_floor: float,
    dense_span: float,
    lexical_full: float,
    *,
    english_lexical: float | None = None,
    english_heading: float | None = None,
    heading_weight: float = 0.0,
) -> float:
    """The confidence figure of `evidence` from its three signals."""
    lexical_part = min(1.0, top_lexical / lexical_full)
    if english_lexical is not None:
        dense = top_dense
        if english_heading is not None:
            dense = (top_dense + heading_weight * english_heading) / (1 + heading_weight)
        similarity = dense + english_lexical * lexical_part
        return round(min(1.0, max(0.0, (similarity - dense_floor) / dense_span)), 4)
    dense_part = min(1.0, max(0.0, (top_dense - dense_floor) / dense_span))
    return round(0.4 * dense_part + 0.3 * coverage + 0.3 * lexical_part, 4)


CALIBRATION_FILE = INTENTS_DIR / "decision.json"
ACTIONS = ("answer", "clarify", "escalate", "refuse")


@dataclass(frozen=True)
class Calibration:
    """The action model: a softmax over the four actions on `features` of one message, fitted
    on the golden set's `tune` split by `python -m bench.intents --fit` (cross-validated there)."""

    model: Linear
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:  # type: ignore[type-arg]
        return cls(
            Linear(np.array(data["weights"], np.float32), np.array(data["bias"], np.float32)),
            np.array(data["mean"], np.float32),
            np.array(data["scale"], np.float32),
        )


@lru_cache(maxsize=4)
def load_calibration(path: Path = CALIBRATION_FILE) -> Calibration:
    return Calibration.from_dict(json.loads(path.read_text("utf-8")))


def features(
    found: IntentResult, confidence: float, answer_threshold: float, *, follow_up: bool
) -> np.ndarray:
    """What the action model reads: the linear model's log-probabilities, the wrongdoing
    checks (log-odds, on the embedding and on the words), the nearest-examples vote, the
    retrieval evidence measured from the answer threshold (so a composer with its own
    threshold keeps the same scale), follow-up, and the word model's log-probabilities."""
    proba = np.array([found.proba.get(i, 0.0) for i in Intent])
    words = np.array([found.words.get(i, 0.0) for i in Intent])
    vote = np.array([found.scores.get(i, 0.0) for i in Intent])
    check = min(max(found.wrongdoing, 1e-4), 1 - 1e-4)
    check_words = min(max(found.wrongdoing_words, 1e-4), 1 - 1e-4)
    evidence = confidence - answer_threshold
    return np.concatenate(
        [
            np.log(proba + 1e-4),
            [
                np.log(check / (1 - check)),
                np.log(check_words / (1 - check_words)),
                evidence,
                evidence**2,
                float(follow_up),
            ],
            vote * 10,
            np.log(words + 1e-4),
        ]
    ).astype(np.float32)


def act(
    found: IntentResult,
    confidence: float,
    answer_threshold: float,
    *,
    follow_up: bool = False,
    calibration: Calibration | None = None,
    floor: float | None = None,
) -> tuple[str, Intent]:
    """The action and the intent behind it: the action model picks the action; the most
    probable intent of that action says which reply (wrongdoing or off-topic refusal, a
    person asked for or a personal case). An answer below `floor` (default: the answer
    threshold the evidence is measured from), an escalation whose intents trail "in scope", a
    refusal whose intents trail it while the wrongdoing checks are below even odds, or a
    wrongdoing refusal the checks do not carry, is a question the knowledge base does not
    answer well enough: escalated (IN_SCOPE)."""
    calibration = calibration or load_calibration()
    x = features(found, confidence, answer_threshold, follow_up=follow_up) - calibration.mean
    action = ACTIONS[int(calibration.model.proba(x / calibration.scale)[0].argmax())]
    own = [i for i in Intent if ACTION_OF[i] == action]
    intent = max(own, key=lambda i: found.proba.get(i, 0.0))
    if action == "answer" and confidence < (answer_threshold if floor is None else floor):
        # The setting's contract: below the floor the assistant does not answer, whatever the
        # intents say (a question the knowledge base does not cover reads as in scope, and the
        # nearest documents would answer another question).
        return "escalate", Intent.IN_SCOPE
    trails = found.proba.get(intent, 0.0) < found.proba.get(Intent.IN_SCOPE, 0.0)
    doubtful = found.wrongdoing_odds < 0.5
    if trails and (action == "escalate" or (action == "refuse" and doubtful)):
        # No refusal without a reason: neither a refusing intent ahead of "in scope" nor the
        # wrongdoing checks. A person takes it instead.
        return "escalate", Intent.IN_SCOPE
    if intent is Intent.WRONGDOING and doubtful:
        # A wrongdoing refusal tells a person they asked for something unlawful: not on the
        # vote alone when the checks, read on the meaning and on the words, lean lawful.
        return "escalate", Intent.IN_SCOPE
    return action, intent
