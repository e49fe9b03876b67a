"""Hybrid retrieval: dense (Chroma) and lexical (BM25) candidates, reciprocal rank fusion."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever

from sportello.knowledge.documents import Chunk, Topic
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.expansion import expand
from sportello.knowledge.keyword_index import KeywordIndex
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


class Retriever:
    """Search the knowledge base: both indexes, fused by RRF, best first."""

    def __init__(
        self,
        embedder: Embedder,
        vectors: ChromaVectorStore,
        keywords: KeywordIndex,
        *,
        candidates: int = 30,
        rrf_k: int = 60,
        default_k: int = 5,
    ) -> None:
        self.embedder = embedder
        self.vectors = vectors
        self.keywords = keywords
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.default_k = default_k
        self.last_timings: dict[str, float] = {}
        # Called with the timings of every search (ms); the web app attaches its metrics here.
        self.observer: Callable[[dict[str, float]], None] | None = None

    def search(
        self, query: str, k: int | None = None, topic: Topic | None = None
    ) -> list[RetrievedChunk]:
        k = k or self.default_k
        query = query.strip()
        if not query:
            return []
        self.keywords.refresh_if_changed()
        t0 = time.perf_counter()
        vector = self.embedder.embed_query(query)
        t1 = time.perf_counter()
        dense = self.vectors.query(vector, self.candidates, topic)
        t2 = time.perf_counter()
        lexical = self.keywords.search(expand(query), self.candidates, topic)
        t3 = time.perf_counter()
        self.last_timings = {
            "embed_ms": (t1 - t0) * 1e3,
            "dense_ms": (t2 - t1) * 1e3,
            "lexical_ms": (t3 - t2) * 1e3,
            "total_ms": (t3 - t0) * 1e3,
        }
        if self.observer is not None:
            self.observer(self.last_timings)
        return self.fuse(
            dense_hits=[(h.chunk_id, h.similarity) for h in dense],
            lexical_hits=[(c.id, s) for c, s in lexical],
            k=k,
        )

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
    ) -> list[RetrievedChunk]:
        """Reciprocal rank fusion: score = Σ 1 / (rrf_k + rank) over the lists a chunk is in."""
        fused: dict[str, float] = {}
        dense_info: dict[str, tuple[int, float]] = {}
        lexical_info: dict[str, tuple[int, float]] = {}
        for rank, (chunk_id, score) in enumerate(dense_hits, 1):
            dense_info[chunk_id] = (rank, score)
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (self.rrf_k + rank)
        for rank, (chunk_id, score) in enumerate(lexical_hits, 1):
            lexical_info[chunk_id] = (rank, score)
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (self.rrf_k + rank)
        best = sorted(fused.items(), key=lambda item: -item[1])[:k]
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


class SportelloLangChainRetriever(BaseRetriever):
    """Our hybrid Retriever as a LangChain retriever, for chains that expect one."""

    retriever: Retriever
    k: int = 5
    topic: Topic | None = None

    model_config = {"arbitrary_types_allowed": True}

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LCDocument]:
        return [
            LCDocument(
                page_content=hit.chunk.text,
                id=hit.chunk.id,
                metadata={
                    "doc_id": hit.chunk.doc_id,
                    "title": hit.chunk.title,
                    "heading": hit.chunk.heading,
                    "citation": hit.chunk.citation,
                    "source": hit.chunk.link,
                    "score": hit.fused_score,
                },
            )
            for hit in self.retriever.search(query, self.k, self.topic)
        ]
