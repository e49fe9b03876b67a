"""Dynamic micro-batching of query embeddings: concurrent questions share one model run.

With 4-bit weights a batch reads and unpacks the weights once for all its rows, so eight
questions embedded together cost far less than eight runs one after the other. Inference
servers batch across requests; this does it in-process, behind the Embedder port.

Leader/follower: a caller that finds no batch running becomes the leader. If it is alone it
runs at once (a lone question is never delayed); if others are already queued, it waits up to
`window_s` for more (or until `max_batch`), takes the queue, runs one batch outside the lock and
hands every caller its row. Callers that arrive while a batch runs queue up and form the next.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sportello.knowledge.embeddings import Embedder


def embed_queries(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Query vectors for `texts` in one model run when the embedder can, else one by one."""
    batch = getattr(embedder, "embed_queries", None)
    if batch is not None:
        return np.asarray(batch(texts), dtype=np.float32)
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return np.stack([embedder.embed_query(t) for t in texts]).astype(np.float32)


class _Pending:
    __slots__ = ("text", "vector", "error", "done")

    def __init__(self, text: str) -> None:
        self.text = text
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class BatchingEmbedder:
    """An Embedder whose `embed_query` batches concurrent callers (thread-safe)."""

    def __init__(self, inner: Embedder, window_s: float = 0.005, max_batch: int = 32) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.window_s = window_s
        self.max_batch = max(1, max_batch)
        self.batch_sizes: Counter[int] = Counter()  # batch size -> batches run (bench, tests)
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)  # followers: a batch finished
        self._full = threading.Condition(self._lock)  # leader: the queue reached max_batch
        self._queue: list[_Pending] = []
        self._running = False

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return embed_queries(self.inner, texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed_query(self, text: str) -> np.ndarray:
        pending = _Pending(text)
        with self._lock:
            self._queue.append(pending)
            if len(self._queue) >= self.max_batch:
                self._full.notify()
            while not pending.done:
                if self._running:
                    self._turn.wait()
                else:
                    # Leading may run a batch without our own row (queue longer than max_batch):
                    # then we loop and lead or follow again.
                    self._lead()
        if pending.error is not None:
            raise pending.error
        assert pending.vector is not None
        return pending.vector

    def _lead(self) -> None:
        """Run one batch from the queue; called and returns with the lock held."""
        self._running = True
        try:
            if len(self._queue) > 1 and self.window_s > 0:
                deadline = time.monotonic() + self.window_s
                while len(self._queue) < self.max_batch:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._full.wait(remaining)
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            self._lock.release()
            try:
                vectors: np.ndarray | None = embed_queries(self.inner, [p.text for p in batch])
                error: BaseException | None = None
            except BaseException as exc:  # handed to every caller of the batch, raised there
                vectors, error = None, exc
            finally:
                self._lock.acquire()
            self.batch_sizes[len(batch)] += 1
            for row, pending in enumerate(batch):
                if vectors is not None:
                    pending.vector = vectors[row].copy()
                pending.error = error
                pending.done = True
        finally:
            self._running = False
            self._turn.notify_all()


def with_batching(embedder: Embedder, window_ms: float, max_batch: int = 32) -> Embedder:
    """`embedder` with query micro-batching over `window_ms` (0 = none: every query runs alone)."""
    if window_ms <= 0:
        return embedder
    return BatchingEmbedder(embedder, window_ms / 1000.0, max_batch)
