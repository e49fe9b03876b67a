"""Dense search in process: the snapshot of a real (embedded) Chroma collection ranks as Chroma's
own index does, follows the published generation, and gives way to Chroma above its size."""

from __future__ import annotations

from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings

from sportello.knowledge.documents import Chunk, Topic
from sportello.knowledge.vector_snapshot import VectorSnapshot
from sportello.knowledge.vector_store import ChromaVectorStore

TOPICS = [Topic.FISCALE, Topic.RUNTS, Topic.BILANCIO]


def _client(path: Path) -> chromadb.ClientAPI:
    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
    )


def _chunks(n: int, doc: str = "d") -> list[Chunk]:
    return [
        Chunk(
            id=f"{doc}-{i:04d}",
            doc_id=f"{doc}{i % 7}",
            title="Titolo",
            heading="",
            text=f"testo {i}",
            position=i,
            topic=TOPICS[i % len(TOPICS)],
        )
        for i in range(n)
    ]


def _vectors(n: int, dims: int = 24, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dims)).astype(np.float32)


def _store(path: Path, in_memory_max: int) -> ChromaVectorStore:
    return ChromaVectorStore(_client(path), "kb_test", "test-model", in_memory_max=in_memory_max)


@pytest.fixture
def filled(tmp_path: Path) -> tuple[ChromaVectorStore, ChromaVectorStore]:
    """The same 400 chunks searched in process and by Chroma's index (two collections)."""
    chunks, vectors = _chunks(400), _vectors(400)
    memory = _store(tmp_path / "a", in_memory_max=1000)
    chroma = _store(tmp_path / "b", in_memory_max=0)
    memory.upsert(chunks, vectors)
    chroma.upsert(chunks, vectors)
    return memory, chroma


def test_in_process_search_ranks_as_chroma_does(
    filled: tuple[ChromaVectorStore, ChromaVectorStore],
) -> None:
    memory, chroma = filled
    queries = _vectors(20, seed=11)
    for query in queries:
        for topic in (None, Topic.RUNTS):
            ours = memory.query(query, 10, topic)
            theirs = chroma.query(query, 10, topic)
            assert [h.chunk_id for h in ours] == [h.chunk_id for h in theirs]
            assert np.allclose(
                [h.similarity for h in ours], [h.similarity for h in theirs], atol=1e-5
            )
            if topic is not None:
                assert all(int(h.chunk_id[-4:]) % len(TOPICS) == 1 for h in ours)
    assert memory.in_process_size == 400
    assert chroma.in_process_size is None


def test_ties_are_ordered_by_id_and_n_is_respected() -> None:
    matrix = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    snapshot = VectorSnapshot(("c", "a", "z", "b"), matrix, np.array(["", "", "", ""]))
    assert snapshot.search(np.array([2.0, 0.0]), 2) == [("a", 1.0), ("b", 1.0)]
    assert [i for i, _ in snapshot.search(np.array([1.0, 0.0]), 10)] == ["a", "b", "c", "z"]
    assert snapshot.search(np.array([0.0, 0.0]), 3) == []
    with pytest.raises(ValueError, match="dimensions"):
        snapshot.search(np.array([1.0, 0.0, 0.0]), 1)


def test_a_bare_store_follows_its_own_writes(tmp_path: Path) -> None:
    store = _store(tmp_path, in_memory_max=1000)
    assert store.query(_vectors(1)[0], 5) == []  # empty collection, nothing to find
    chunks, vectors = _chunks(30), _vectors(30)
    store.upsert(chunks, vectors)
    assert store.query(vectors[4], 1)[0].chunk_id == chunks[4].id
    store.delete_document(chunks[4].doc_id)
    found = {h.chunk_id for h in store.query(vectors[4], 30)}
    assert chunks[4].id not in found and len(found) == 30 - 4  # d4: chunks 4, 11, 18, 25


def test_a_wired_store_changes_snapshot_only_with_the_published_generation(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path, in_memory_max=1000)
    generation = ["g1"]
    store.generation = lambda: generation[0]
    chunks, vectors = _chunks(30), _vectors(30)
    store.upsert(chunks[:20], vectors[:20])
    assert len(store.query(vectors[25], 30)) == 20
    # An ingest writes more chunks: searches keep the published snapshot until it publishes.
    store.upsert(chunks[20:], vectors[20:])
    assert {h.chunk_id for h in store.query(vectors[25], 30)} == {c.id for c in chunks[:20]}
    generation[0] = "g2"
    assert store.query(vectors[25], 1)[0].chunk_id == chunks[25].id
    assert store.in_process_size == 30


def test_above_the_limit_chroma_answers(tmp_path: Path) -> None:
    store = _store(tmp_path, in_memory_max=10)
    chunks, vectors = _chunks(30), _vectors(30)
    store.upsert(chunks, vectors)
    assert store.query(vectors[7], 1)[0].chunk_id == chunks[7].id
    assert store.in_process_size is None
