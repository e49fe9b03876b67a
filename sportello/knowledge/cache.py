"""Speed helpers around the Embedder: a query-embedding LRU cache and the cores to run on."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sportello.knowledge.batching import embed_queries

if TYPE_CHECKING:
    from sportello.knowledge.embeddings import Embedder


class CachedEmbedder:
    """An Embedder that remembers the vectors of the last `size` distinct queries.

    Volunteers ask the same few questions again and again ("come mi iscrivo al RUNTS?"): a hit
    costs a dictionary lookup instead of a model run (~10-40 ms of CPU). Documents are never
    cached (ingest embeds each chunk once anyway). Vectors are returned read-only.
    """

    def __init__(self, inner: Embedder, size: int = 1024) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.size = size
        self.hits = 0
        self.misses = 0
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            vector = self._cache.get(text)
            if vector is not None:
                self._cache.move_to_end(text)
                self.hits += 1
                return vector
            self.misses += 1
        vector = self.inner.embed_query(text)  # outside the lock: other hits need not wait
        vector.flags.writeable = False
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many query texts in one model run, not cached (the indexer's headings: kept by it)."""
        return embed_queries(self.inner, texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


def with_query_cache(embedder: Embedder, size: int) -> Embedder:
    """`embedder` behind a query cache of `size` entries (0 = no cache)."""
    return CachedEmbedder(embedder, size) if size > 0 else embedder


def available_cores() -> int:
    """CPUs this process may really use: its affinity mask, capped by a cgroup CPU quota.

    `os.cpu_count()` reports the host's cores; in a container limited to 2 CPUs on a 32-core
    host, 32 embedding threads would fight over 2 cores.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = cores or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota: the affinity mask is the answer
    return cores
