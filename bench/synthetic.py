"""A synthetic 50,000-chunk knowledge base, to time retrieval at the size a network grows to.

Embedding 50,000 chunks with our model (about 13 chunks/s on 2 cores) would take an hour, so
the chunks get vectors made from the real ones instead: each is a unit vector mixing two real
chunk embeddings with Gaussian noise, which keeps the anisotropy of real e5 vectors (a random
point on the sphere would make the HNSW search unrealistically easy). Texts mix the sentences of
two real chunks, so the BM25 vocabulary and document lengths are realistic too. Only the timing
is meaningful here: the synthetic chunks answer nothing.
"""

from __future__ import annotations

import contextlib
import random
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from sportello.config import Settings
from sportello.knowledge.documents import Chunk
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.keyword_index import KeywordIndex
from sportello.knowledge.retrieval import Retriever
from sportello.knowledge.vector_store import ChromaVectorStore, make_chroma_client

COLLECTION = "bench_synthetic"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def real_chunks_and_vectors(settings: Settings) -> tuple[list[Chunk], np.ndarray]:
    """The ingested chunks with their stored embeddings (from the real KB's collection)."""
    client = make_chroma_client(settings)
    store = ChromaVectorStore(client, settings.chroma_collection, settings.embedding_model)
    chunks = {c.id: c for c in store.all_chunks()}
    got: Any = client.get_collection(store.collection_name).get(
        ids=list(chunks), include=["embeddings"]
    )
    vectors = np.asarray(got["embeddings"], dtype=np.float32)
    return [chunks[i] for i in got["ids"]], vectors


def make_synthetic(
    chunks: list[Chunk], vectors: np.ndarray, n: int, seed: int = 8
) -> tuple[list[Chunk], np.ndarray]:
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    a = rng.integers(0, len(chunks), n)
    b = rng.integers(0, len(chunks), n)
    weight = rng.uniform(0.55, 0.9, (n, 1)).astype(np.float32)
    noise = rng.normal(0.0, 0.02, (n, vectors.shape[1])).astype(np.float32)
    mixed = weight * vectors[a] + (1 - weight) * vectors[b] + noise
    mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
    out = []
    for i in range(n):
        first, second = chunks[int(a[i])], chunks[int(b[i])]
        sentences = _SENTENCE.split(first.text) + _SENTENCE.split(second.text)
        pick.shuffle(sentences)
        text = " ".join(sentences[: max(3, len(sentences) // 2)])
        out.append(
            replace(first, id=f"syn-{i}", doc_id=f"synthetic/{i // 12}", text=text, position=i % 12)
        )
    return out, mixed.astype(np.float32)


def synthetic_retrieval(
    settings: Settings,
    embedder: Embedder,
    questions: list[str],
    tmp: Path,
    n: int = 50_000,
) -> dict[str, float]:
    """Insert `n` synthetic chunks into a separate collection and BM25 index; time searches."""
    from bench.run import percentile

    chunks, vectors = real_chunks_and_vectors(settings)
    t0 = time.perf_counter()
    synthetic, synthetic_vectors = make_synthetic(chunks, vectors, n)
    client = make_chroma_client(settings)
    with contextlib.suppress(Exception):  # absent on a fresh server: nothing to drop
        client.delete_collection(COLLECTION)
    store = ChromaVectorStore(client, COLLECTION, embedder.name)
    store.upsert(synthetic, synthetic_vectors)
    t1 = time.perf_counter()
    keywords = KeywordIndex(tmp / "bm25-synthetic")
    keywords.rebuild(synthetic)
    t2 = time.perf_counter()
    retriever = Retriever(
        embedder,
        store,
        keywords,
        candidates=settings.retrieval_candidates,
        rrf_k=settings.rrf_k,
        fusion=settings.retrieval_fusion,
        dense_weight=settings.fusion_dense_weight,
        lexical_full=settings.fusion_lexical_full,
        default_k=settings.retrieval_k,
    )
    retriever.search("avvio", 5)  # first HNSW load into memory is not a volunteer's wait
    latencies = []
    parts: dict[str, list[float]] = {"embed_ms": [], "dense_ms": [], "lexical_ms": []}
    retriever.observer = lambda timings: [parts[k].append(timings[k]) for k in parts]
    for question in questions * 3:
        started = time.perf_counter()
        retriever.search(question, 5)
        latencies.append((time.perf_counter() - started) * 1e3)
    figures = {
        "synthetic_chunks": float(store.count()),
        "synthetic_vectors_insert_s": t1 - t0,
        "synthetic_bm25_build_s": t2 - t1,
        "retrieval_p50_ms_50k": percentile(latencies, 50),
        "retrieval_p95_ms_50k": percentile(latencies, 95),
        # where the 50k search time goes (means): the query embedding dominates
        **{f"retrieval_50k_mean_{k}": sum(v) / len(v) for k, v in parts.items()},
    }
    client.delete_collection(COLLECTION)
    return figures
