"""Hybrid retrieval: dense (Chroma) and lexical (BM25) candidates, fused into one ranking.

The default fusion is a weighted sum of the two normalised scores: the dense similarity scaled
between the worst and the best dense candidate, and the BM25 score divided by the larger of the
best BM25 score and `lexical_full`, so a weak lexical match (an English question against Italian
documents, a colloquial wording that shares one common word) cannot outrank a strong dense one
the way rank-only fusion lets it. Reciprocal rank fusion stays available (`fusion="rrf"`) as the
reference. The weights were tuned on the golden set's `tune` split only (bench/golden.py).

Then the top of the fused ranking is rescored by question-to-heading similarity: the knowledge
base's headings are questions, so the section whose heading asks what the person asked moves up
past an introduction or a list of references that merely shares the words (heading vectors are
embedded at ingest, see sportello.knowledge.headings).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np

from sportello.knowledge.documents import Chunk, Topic
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.expansion import expand
from sportello.knowledge.headings import section_question
from sportello.knowledge.keyword_index import KeywordIndex
from sportello.knowledge.text_vectors import TextVectors
from sportello.knowledge.vector_store import ChromaVectorStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrievedChunk:
    """A chunk with how each index ranked it; ranks are 1-based, None when not a candidate."""

    chunk: Chunk
    fused_score: float
    dense_score: float | None = None
    lexical_score: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "chunk_id": self.chunk.id,
            "doc_id": self.chunk.doc_id,
            "title": self.chunk.title,
            "heading": self.chunk.heading,
            "citation": self.chunk.citation,
            "link": self.chunk.link,
            "topic": self.chunk.topic.value if self.chunk.topic else None,
            "text": self.chunk.text,
            "score": round(self.fused_score, 6),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 4),
            "lexical_score": None if self.lexical_score is None else round(self.lexical_score, 4),
            "dense_rank": self.dense_rank,
            "lexical_rank": self.lexical_rank,
        }


Fusion = Literal["weighted", "rrf"]


class Embedded(NamedTuple):
    """A query's vector and the milliseconds its embedding took (for the search timings)."""

    vector: np.ndarray
    ms: float


class Retriever:
    """Search the knowledge base: both indexes, fused, best first."""

    def __init__(
        self,
        embedder: Embedder,
        vectors: ChromaVectorStore,
        keywords: KeywordIndex,
        *,
        candidates: int = 30,
        rrf_k: int = 60,
        default_k: int = 5,
        fusion: Fusion = "weighted",
        dense_weight: float = 0.4,
        lexical_full: float = 10.0,
        headings: TextVectors | None = None,
        heading_weight: float = 0.3,
        heading_top: int = 10,
    ) -> None:
        self.embedder = embedder
        self.vectors = vectors
        self.keywords = keywords
        self.candidates_per_index = candidates
        self.rrf_k = rrf_k
        self.default_k = default_k
        self.fusion: Fusion = fusion
        self.dense_weight = dense_weight
        self.lexical_full = lexical_full
        self.headings = headings
        self.heading_weight = heading_weight
        self.heading_top = heading_top
        self.last_timings: dict[str, float] = {}
        # Called with the timings of every search (ms); the web app attaches its metrics here.
        self.observer: Callable[[dict[str, float]], None] | None = None

    def embed(self, query: str) -> Embedded:
        """The query's vector, as `search` computes it: a caller that needs the vector for
        another step too (the intent step) embeds once and passes it to `search`."""
        started = time.perf_counter()
        vector = np.asarray(self.embedder.embed_query(query.strip()), dtype=np.float32)
        return Embedded(vector, (time.perf_counter() - started) * 1e3)

    def search(
        self,
        query: str,
        k: int | None = None,
        topic: Topic | None = None,
        *,
        embedded: Embedded | None = None,
        language: str = "it",
    ) -> list[RetrievedChunk]:
        """The best `k` chunks for `query`; `embedded` is its vector when already known;
        `language` the question's (an English one is also matched on the English headings)."""
        k = k or self.default_k
        dense_hits, lexical_hits, vector = self._lists(query, topic, embedded, language)
        if not dense_hits and not lexical_hits:
            return []
        return self.fuse(dense_hits=dense_hits, lexical_hits=lexical_hits, k=k, question=vector)

    def candidates(
        self, query: str, topic: Topic | None = None, *, language: str = "it"
    ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """(chunk id, score) candidates of each index, best first: dense, then BM25."""
        dense_hits, lexical_hits, _ = self._lists(query, topic, language=language)
        return dense_hits, lexical_hits

    def _lists(
        self,
        query: str,
        topic: Topic | None = None,
        known: Embedded | None = None,
        language: str = "it",
    ) -> tuple[list[tuple[str, float]], list[tuple[str, float]], np.ndarray | None]:
        """Both candidate lists and the query's vector: the query is embedded once (here, or
        by `embed` before), and everything after it works on these."""
        query = query.strip()
        if not query:
            return [], [], None
        self.keywords.refresh_if_changed()
        embedded = known or self.embed(query)
        vector = embedded.vector
        t1 = time.perf_counter()
        dense = self.vectors.query(vector, self.candidates_per_index, topic)
        t2 = time.perf_counter()
        lexical = self.keywords.search(
            expand(query), self.candidates_per_index, topic, english=language == "en"
        )
        t3 = time.perf_counter()
        self.last_timings = {
            "embed_ms": embedded.ms,
            "dense_ms": (t2 - t1) * 1e3,
            "lexical_ms": (t3 - t2) * 1e3,
            "total_ms": embedded.ms + (t3 - t1) * 1e3,
        }
        if self.observer is not None:
            self.observer(self.last_timings)
        return (
            [(h.chunk_id, h.similarity) for h in dense],
            [(c.id, s) for c, s in lexical],
            vector,
        )

    def english_heading_similarity(
        self, hits: list[RetrievedChunk], question: np.ndarray, top: int = 5
    ) -> float | None:
        """The best similarity between an English question and the English twins of the
        headings of its first `top` hits: a comparison in the question's own language, where
        the question-to-text similarity crosses from English to Italian. None when no hit's
        section has a twin (or there is no heading store)."""
        if self.headings is None:
            return None
        twins = [h.chunk.question_en for h in hits[:top] if h.chunk.question_en]
        if not twins:
            return None
        return max(float(v @ question) for v in self.headings.vectors(twins, self.embedder))

    def dense_search(self, query: str, k: int) -> list[RetrievedChunk]:
        hits = self.vectors.query(self.embedder.embed_query(query), k)
        return self.fuse(
            dense_hits=[(h.chunk_id, h.similarity) for h in hits], lexical_hits=[], k=k
        )

    def lexical_search(self, query: str, k: int) -> list[RetrievedChunk]:
        hits = self.keywords.search(expand(query), k)
        return self.fuse(dense_hits=[], lexical_hits=[(c.id, s) for c, s in hits], k=k)

    def fuse(
        self,
        *,
        dense_hits: list[tuple[str, float]],
        lexical_hits: list[tuple[str, float]],
        k: int,
        question: np.ndarray | None = None,
    ) -> list[RetrievedChunk]:
        """The best `k` chunks of both candidate lists (each best first), by `self.fusion`;
        with the `question`'s vector, the top rescored by question-to-heading similarity."""
        if self.fusion == "rrf":
            scores = rrf_scores(dense_hits, lexical_hits, self.rrf_k)
        else:
            scores = weighted_scores(dense_hits, lexical_hits, self.dense_weight, self.lexical_full)
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        if question is not None:
            ranked = self._rescore(ranked, question)
        return self._resolve(ranked[:k], dense_hits, lexical_hits)

    def _rescore(
        self, ranked: list[tuple[str, float]], question: np.ndarray
    ) -> list[tuple[str, float]]:
        """The first `heading_top` candidates reordered by their fused score plus
        `heading_weight` × their heading's similarity to the question, min-max scaled over
        them (as the dense side of the fusion is: e5 similarities crowd in a narrow band)."""
        if self.headings is None or self.heading_weight <= 0 or len(ranked) < 2:
            return ranked
        head, tail = ranked[: self.heading_top], ranked[self.heading_top :]
        sims: dict[str, float] = {}
        for chunk_id, _ in head:
            chunk = self.keywords.get(chunk_id)
            vector = self.headings.vector(section_question(chunk), self.embedder) if chunk else None
            if vector is not None:
                sims[chunk_id] = float(vector @ question)
        if len(sims) < 2:
            return ranked
        low, span = min(sims.values()), max(sims.values()) - min(sims.values())
        rescored = [
            (cid, score + self.heading_weight * ((sims[cid] - low) / span if span > 0 else 1.0))
            if cid in sims
            else (cid, score)
            for cid, score in head
        ]
        return sorted(rescored, key=lambda item: -item[1]) + tail

    def _resolve(
        self,
        best: list[tuple[str, float]],
        dense_hits: list[tuple[str, float]],
        lexical_hits: list[tuple[str, float]],
    ) -> list[RetrievedChunk]:
        dense_info = {cid: (rank, score) for rank, (cid, score) in enumerate(dense_hits, 1)}
        lexical_info = {cid: (rank, score) for rank, (cid, score) in enumerate(lexical_hits, 1)}
        missing = [cid for cid, _ in best if self.keywords.get(cid) is None]
        fetched = self.vectors.get(missing) if missing else {}
        results = []
        for chunk_id, score in best:
            chunk = self.keywords.get(chunk_id) or fetched.get(chunk_id)
            if chunk is None:
                logger.warning("chunk %s is in one index but not the other", chunk_id)
                continue
            d, lx = dense_info.get(chunk_id), lexical_info.get(chunk_id)
            results.append(
                RetrievedChunk(
                    chunk=chunk,
                    fused_score=score,
                    dense_rank=d[0] if d else None,
                    dense_score=d[1] if d else None,
                    lexical_rank=lx[0] if lx else None,
                    lexical_score=lx[1] if lx else None,
                )
            )
        return results


def rrf_scores(
    dense_hits: list[tuple[str, float]], lexical_hits: list[tuple[str, float]], rrf_k: int
) -> dict[str, float]:
    """Reciprocal rank fusion: score = Σ 1 / (rrf_k + rank) over the lists a chunk is in."""
    fused: dict[str, float] = {}
    for hits in (dense_hits, lexical_hits):
        for rank, (chunk_id, _) in enumerate(hits, 1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (rrf_k + rank)
    return fused


def weighted_scores(
    dense_hits: list[tuple[str, float]],
    lexical_hits: list[tuple[str, float]],
    dense_weight: float,
    lexical_full: float,
) -> dict[str, float]:
    """dense_weight × the dense similarity min-max scaled over the dense candidates, plus
    (1 − dense_weight) × the BM25 score over max(best BM25 score, `lexical_full`).

    A chunk missing from a list scores 0 on that side. Min-max on the dense side because cosine
    similarities of one model crowd in a narrow band (0.80-0.90 for e5), so their spread, not
    their level, tells the candidates apart; the floor `lexical_full` on the BM25 side because
    BM25 scores are absolute evidence: the best of a set of weak matches is still weak.
    """
    fused: dict[str, float] = {}
    if dense_hits:
        sims = [s for _, s in dense_hits]
        low, span = min(sims), max(sims) - min(sims)
        for chunk_id, sim in dense_hits:
            scaled = (sim - low) / span if span > 0 else 1.0
            fused[chunk_id] = dense_weight * scaled
    if lexical_hits:
        top = max(max(s for _, s in lexical_hits), lexical_full)
        for chunk_id, score in lexical_hits:
            fused[chunk_id] = fused.get(chunk_id, 0.0) + (1 - dense_weight) * score / top
    return fused
