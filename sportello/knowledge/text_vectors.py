"""Texts of the knowledge base embedded once at ingest and read per question: the section
questions (embedded as queries, compared with a person's question by retrieval and the composer)
and the sentences (embedded as passages, scored by the composer for a question in English)."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from sportello.knowledge.batching import embed_queries
from sportello.knowledge.documents import Chunk
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.folders import swap_in
from sportello.knowledge.headings import section_questions
from sportello.knowledge.sentences import split_sentences

logger = logging.getLogger(__name__)
# Texts per model run at ingest: the 4-bit engine reads its weights once per run, so 512 short
# texts together cost about a third less than in runs of 32 (measured, 2 cores).
_BATCH = 512


class TextVectors:
    """The texts `texts_of` draws from the chunks, embedded as queries or as passages,
    persisted beside the indexes by the indexer and loaded with them.

    A text missing from the store (a document indexed by another process since the last load)
    is embedded when first asked for and kept in memory, so a reply is never wrong, only
    slower, when the store lags behind."""

    def __init__(
        self,
        path: Path,
        model: str,
        texts_of: Callable[[Iterable[Chunk]], set[str]],
        *,
        as_queries: bool,
    ) -> None:
        self.path = path
        self.model = model
        self.texts_of = texts_of
        self.as_queries = as_queries
        self._lock = threading.Lock()
        self._vectors: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._vectors)

    def texts(self) -> list[str]:
        with self._lock:
            return list(self._vectors)

    def load(self) -> bool:
        """Read the persisted store; False when there is none for this model."""
        try:
            meta = json.loads((self.path / "meta.json").read_text(encoding="utf-8"))
            matrix = np.load(self.path / "vectors.npy")
        except (FileNotFoundError, ValueError):
            return False
        if meta.get("model") != self.model or len(meta["texts"]) != len(matrix):
            logger.info("%s: vectors of another model or incomplete, ignored", self.path.name)
            return False
        with self._lock:
            self._vectors = dict(zip(meta["texts"], matrix.astype(np.float32), strict=True))
        return True

    def reload(self) -> None:
        """Read the store again (another process published a new ingest)."""
        self.load()

    def missing(self, chunks: Iterable[Chunk]) -> int:
        """How many texts of `chunks` the store lacks."""
        with self._lock:
            return len(self.texts_of(chunks) - self._vectors.keys())

    def update(
        self,
        chunks: Iterable[Chunk],
        embedder: Embedder,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Embed the texts of `chunks` not stored yet, drop the ones no chunk has any more,
        and persist; returns how many were embedded. `progress(done, missing)` after each batch."""
        wanted = sorted(self.texts_of(chunks))
        with self._lock:
            known = dict(self._vectors)
        missing = [t for t in wanted if t not in known]
        for start in range(0, len(missing), _BATCH):
            batch = missing[start : start + _BATCH]
            known.update(zip(batch, self._embed(embedder, batch), strict=True))
            if progress is not None:
                progress(start + len(batch), len(missing))
        kept = {t: known[t] for t in wanted}
        if not missing and len(kept) == len(known) and self.path.exists():
            return 0  # nothing to embed or drop: the persisted store is current
        self._write(kept)
        with self._lock:
            self._vectors = kept
        return len(missing)

    def vector(self, text: str, embedder: Embedder | None) -> np.ndarray | None:
        """The stored vector of `text`; embedded now (and kept) when missing and `embedder` given."""
        found = self._vectors.get(text)
        if found is None and embedder is not None:
            found = self.vectors([text], embedder)[0]
        return found

    def vectors(self, texts: list[str], embedder: Embedder) -> list[np.ndarray]:
        """The vectors of `texts`; the ones not stored are embedded in one batch and kept."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            embedded = dict(zip(missing, self._embed(embedder, missing), strict=True))
            with self._lock:
                self._vectors.update(embedded)
        return [self._vectors[t] for t in texts]

    def _embed(self, embedder: Embedder, texts: list[str]) -> list[np.ndarray]:
        if self.as_queries:
            return [np.asarray(v, dtype=np.float32) for v in embed_queries(embedder, texts)]
        return [np.asarray(v, dtype=np.float32) for v in embedder.embed_documents(texts)]

    def _write(self, vectors: dict[str, np.ndarray]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        texts = list(vectors)
        matrix = np.stack([vectors[t] for t in texts]) if texts else np.zeros((0, 0), np.float32)
        np.save(tmp / "vectors.npy", matrix)
        meta = {"model": self.model, "texts": texts}
        (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        swap_in(tmp, self.path)


# -- the two stores ---------------------------------------------------------------------------------
def chunk_sentences(chunks: Iterable[Chunk]) -> set[str]:
    """Every sentence of the chunks, as the composer splits a section's text."""
    return {s for c in chunks for s in split_sentences(c.text)}


def heading_vectors(data_dir: Path, model: str) -> TextVectors:
    """Section questions embedded as queries (with their English twins, for English questions):
    headings are questions, compared with a question."""
    return TextVectors(data_dir / "headings", model, section_questions, as_queries=True)


def sentence_vectors(data_dir: Path, model: str) -> TextVectors:
    """Sentences embedded as passages: what an English question is compared with."""
    return TextVectors(data_dir / "sentences", model, chunk_sentences, as_queries=False)
