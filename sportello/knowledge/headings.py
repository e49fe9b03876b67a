"""Section headings as questions, and their vectors: embedded once at ingest, read per question."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from sportello.knowledge.batching import embed_queries
from sportello.knowledge.documents import Chunk
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.keyword_index import swap_in

logger = logging.getLogger(__name__)
_BATCH = 32  # headings per model run at ingest


def section_question(chunk: Chunk) -> str:
    """What a chunk's section answers: its own heading (the KB's headings are questions), with
    the document title before a heading that is not a question ("Riferimenti" says nothing
    alone), or the title for the introduction."""
    heading = chunk.heading.split(" › ")[-1].strip() or chunk.title
    if not heading.endswith("?") and heading != chunk.title:
        heading = f"{chunk.title}: {heading}"
    return heading


class HeadingVectors:
    """Every section question of the knowledge base embedded as a query (the way a person's
    question is), persisted beside the indexes by the indexer and loaded with them.

    A heading missing from the store (a document indexed by another process since the last
    load) is embedded when first asked for and kept in memory, so a reply is never wrong, only
    slower, when the store lags behind."""

    def __init__(self, path: Path, model: str) -> None:
        self.path = path
        self.model = model
        self._lock = threading.Lock()
        self._vectors: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._vectors)

    def load(self) -> bool:
        """Read the persisted store; False when there is none for this model."""
        try:
            meta = json.loads((self.path / "meta.json").read_text(encoding="utf-8"))
            matrix = np.load(self.path / "vectors.npy")
        except (FileNotFoundError, ValueError):
            return False
        if meta.get("model") != self.model or len(meta["texts"]) != len(matrix):
            logger.info("heading vectors of another model or incomplete: ignored")
            return False
        with self._lock:
            self._vectors = dict(zip(meta["texts"], matrix.astype(np.float32), strict=True))
        return True

    def reload(self) -> None:
        """Read the store again (another process published a new ingest)."""
        self.load()

    def missing(self, chunks: Iterable[Chunk]) -> int:
        """How many section questions of `chunks` the store lacks."""
        with self._lock:
            return len({section_question(c) for c in chunks} - self._vectors.keys())

    def update(self, chunks: Iterable[Chunk], embedder: Embedder) -> int:
        """Embed the section questions of `chunks` not stored yet, drop the ones no chunk has
        any more, and persist; returns how many were embedded."""
        wanted = sorted({section_question(c) for c in chunks})
        with self._lock:
            known = dict(self._vectors)
        missing = [t for t in wanted if t not in known]
        for start in range(0, len(missing), _BATCH):
            batch = missing[start : start + _BATCH]
            known.update(zip(batch, embed_queries(embedder, batch), strict=True))
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
            found = np.asarray(embedder.embed_query(text), dtype=np.float32)
            with self._lock:
                self._vectors[text] = found
        return found

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
