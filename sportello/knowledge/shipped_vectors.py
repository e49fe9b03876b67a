"""Vectors shipped with the curated knowledge base, made by the model itself.

A fresh instance's first `kb ingest` would run the model on every chunk of `knowledge_base/`,
on their sentences and on the section questions: about 8 minutes of 2 cores. The project ships
those vectors, one file per document in `knowledge_base/_vectors/<model>/<doc id>.npz` (keyed
by a hash of the text and of how it is embedded: passage or query), so that ingest reads them
and runs the model only on what they lack: a document edited since, a staff upload, another
chunking.

A vector is looked up by its exact text, so a stale file is never wrong, only slower.
`sportello kb ship-vectors` writes them after the documents change (it embeds only the texts
no file holds); `tests/knowledge/test_shipped_vectors.py` fails while they are stale and
re-embeds a sample to check they are what the model gives (bit for bit: the engine's vectors
do not depend on what a text is batched with).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from sportello.knowledge.batching import embed_queries
from sportello.knowledge.headings import section_questions
from sportello.knowledge.kb_files import document_id, is_indexable, load_chunks
from sportello.knowledge.keyed_vectors import (
    model_slug,
    read_keyed,
    read_keys,
    write_npz_atomically,
)
from sportello.knowledge.text_vectors import chunk_sentences

if TYPE_CHECKING:
    from sportello.knowledge.embeddings import Embedder

Kind = Literal["passage", "query"]
VECTORS_FOLDER = "_vectors"  # under the KB folder; "_" keeps it out of an ingest


def text_key(kind: Kind, text: str) -> str:
    return hashlib.sha1(f"{kind}\n{text}".encode()).hexdigest()


def shipped_dir(kb_dir: Path, model: str) -> Path:
    """Where the vectors of `model` (a name or a path, made a folder name) are shipped."""
    return kb_dir / VECTORS_FOLDER / (model_slug(model) or "_")


class ShippedVectors:
    """Every shipped vector of one model, by key; read from disk on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._vectors: dict[str, np.ndarray] | None = None

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            if self._vectors is None:
                self._vectors = {}
                for path in sorted(self.folder.rglob("*.npz")):
                    self._vectors.update(read_file(path))
            return self._vectors.get(key)


def read_file(path: Path) -> dict[str, np.ndarray]:
    """The vectors of one shipped file by key, as float32 (what the embedders give)."""
    return read_keyed(path, np.float32)


class ShippedEmbedder:
    """An Embedder that takes passage and query vectors from the shipped ones where they hold
    the text, and embeds the rest with `inner` in one run. A person's question (`embed_query`)
    goes to `inner` directly: it is never shipped."""

    def __init__(self, inner: Embedder, shipped: ShippedVectors) -> None:
        self.inner = inner
        self.shipped = shipped
        self.name = inner.name
        self.dim = inner.dim
        self.from_shipped = 0  # texts read from the shipped vectors (tests)
        self.embedded = 0  # texts run through the model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors("passage", texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors("query", texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def _vectors(self, kind: Kind, texts: Sequence[str]) -> np.ndarray:
        found = [self.shipped.get(text_key(kind, t)) for t in texts]
        missing = [t for t, v in zip(texts, found, strict=True) if v is None]
        if missing:
            run = (
                self.inner.embed_documents(missing)
                if kind == "passage"
                else embed_queries(self.inner, missing)
            )
            embedded = iter(np.asarray(run, dtype=np.float32))
            found = [v if v is not None else next(embedded) for v in found]
        self.from_shipped += len(texts) - len(missing)
        self.embedded += len(missing)
        vectors = [v for v in found if v is not None]  # all of them, by now
        if not vectors:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack(vectors).astype(np.float32)


def with_shipped_vectors(embedder: Embedder, kb_dir: Path) -> Embedder:
    """`embedder` reading the vectors shipped for its model, when there are any."""
    folder = shipped_dir(kb_dir, embedder.name)
    if not folder.is_dir():
        return embedder
    return ShippedEmbedder(embedder, ShippedVectors(folder))


@dataclass
class DocumentTexts:
    """What an ingest embeds for one curated document: its chunks and their sentences as
    passages, its section questions as queries."""

    doc_id: str
    passages: list[str]
    queries: list[str]

    def keys(self) -> set[str]:
        return {text_key("passage", t) for t in self.passages} | {
            text_key("query", t) for t in self.queries
        }


@dataclass
class ShipReport:
    written: list[str] = field(default_factory=list)  # doc ids whose file changed
    removed: list[str] = field(default_factory=list)  # files of documents no longer there
    unchanged: int = 0
    embedded: int = 0  # texts the model ran on (the rest came from the files)


def curated_texts(
    kb_dir: Path,
    count_tokens: Callable[[str], int],
    *,
    chunk_tokens: int,
    overlap_tokens: int,
    max_bytes: int,
) -> list[DocumentTexts]:
    """The texts an ingest of the curated folder embeds, document by document, chunked as an
    ingest with these settings chunks them (`count_tokens`: the model's)."""
    documents = []
    for path in sorted(p for p in kb_dir.rglob("*") if is_indexable(p)):
        doc_id = document_id(path, (kb_dir,))  # the id an ingest of the folder gives it
        _, chunks = load_chunks(
            path,
            doc_id,
            count_tokens,
            chunk_tokens=chunk_tokens,
            overlap_tokens=overlap_tokens,
            max_bytes=max_bytes,
        )
        documents.append(
            DocumentTexts(
                doc_id,
                [c.embedding_text() for c in chunks] + sorted(chunk_sentences(chunks)),
                sorted(section_questions(chunks)),
            )
        )
    return documents


def document_file(folder: Path, doc_id: str) -> Path:
    return folder / f"{doc_id}.npz"


def ship(documents: Iterable[DocumentTexts], embedder: Embedder, folder: Path) -> ShipReport:
    """Write the shipped vectors of `documents` into `folder` (one file per document, rewritten
    only when its texts changed, so an unchanged document leaves git alone) and delete the
    files of documents not among them."""
    report = ShipReport()
    shipped = ShippedEmbedder(embedder, ShippedVectors(folder))
    wanted: set[Path] = set()
    for doc in documents:
        path = document_file(folder, doc.doc_id)
        wanted.add(path.resolve())
        keys = [text_key("passage", t) for t in doc.passages] + [
            text_key("query", t) for t in doc.queries
        ]
        # The keys alone tell a current file (its vectors are read, with every other file's,
        # only when a document changed and its texts are looked up).
        if path.exists() and set(read_keys(path)) == set(keys):
            report.unchanged += 1
            continue
        before = shipped.embedded
        vectors = np.concatenate(
            [shipped.embed_documents(doc.passages), shipped.embed_queries(doc.queries)]
        )
        report.embedded += shipped.embedded - before
        unique = dict(zip(keys, vectors, strict=True))
        write_npz_atomically(
            path,
            compressed=True,
            keys=np.array(list(unique)),
            vectors=np.stack(list(unique.values())),
        )
        report.written.append(doc.doc_id)
    if folder.is_dir():
        for path in sorted(folder.rglob("*.npz")):
            if path.resolve() not in wanted:
                path.unlink()
                report.removed.append(path.relative_to(folder).with_suffix("").as_posix())
        for sub in sorted(folder.rglob("*"), reverse=True):  # folders left empty
            if sub.is_dir() and not any(sub.iterdir()):
                sub.rmdir()
    return report
