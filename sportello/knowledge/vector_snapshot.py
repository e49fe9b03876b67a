"""The dense index's vectors held in memory: an exact cosine search with no round trip to Chroma.

Chroma stays the store of record (every write goes there, every process reads from there); a
snapshot is a read-only copy of one collection's vectors, read once per published generation.
For a knowledge base of a few thousand chunks the search is one matrix-vector product (well
under a millisecond) where a query to a Chroma server costs an HTTP round trip and the server's
own CPU on the same cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sportello.knowledge.documents import Topic


@dataclass(frozen=True)
class VectorSnapshot:
    """`ids[i]`'s unit vector is `matrix[i]`, its topic `topics[i]` ("" when none)."""

    ids: tuple[str, ...]
    matrix: np.ndarray
    topics: np.ndarray

    @classmethod
    def read(cls, collection: Any, page: int = 5000) -> VectorSnapshot:
        """Every vector of a Chroma `collection`, read in pages."""
        ids: list[str] = []
        rows: list[np.ndarray] = []
        topics: list[str] = []
        offset = 0
        while True:
            result = collection.get(include=["embeddings", "metadatas"], limit=page, offset=offset)
            found = result["ids"]
            if not found:
                break
            ids.extend(found)
            rows.append(np.asarray(result["embeddings"], dtype=np.float32))
            topics.extend(str((m or {}).get("topic") or "") for m in result["metadatas"])
            if len(found) < page:
                break
            offset += page
        if not ids:
            return cls((), np.zeros((0, 0), dtype=np.float32), np.array([], dtype=str))
        matrix = np.vstack(rows)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = matrix / np.where(norms > 0, norms, 1.0)
        return cls(tuple(ids), matrix, np.array(topics))

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self, vector: np.ndarray, n: int, topic: Topic | None = None
    ) -> list[tuple[str, float]]:
        """The `n` most similar ids with their cosine similarity, best first; equal
        similarities in id order, so a ranking never depends on the order vectors were read."""
        if not self.ids or n <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        norm = float(np.linalg.norm(query))
        if query.shape[0] != self.matrix.shape[1]:
            raise ValueError(
                f"query vector has {query.shape[0]} dimensions, the index {self.matrix.shape[1]}"
            )
        if norm == 0.0:
            return []
        sims = self.matrix @ (query / norm)
        candidates = np.arange(len(self.ids))
        if topic is not None:
            candidates = candidates[self.topics == topic.value]
        if n < len(candidates):
            # The n best plus every candidate tied with the n-th, so the tie order is ours.
            nth = np.partition(sims[candidates], -n)[-n]
            candidates = candidates[sims[candidates] >= nth]
        order = sorted(candidates.tolist(), key=lambda i: (-float(sims[i]), self.ids[i]))
        return [(self.ids[i], float(sims[i])) for i in order[:n]]
