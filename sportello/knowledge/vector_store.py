"""Dense index: chunk embeddings in a Chroma collection (embedded folder or Chroma server)."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError

from sportello.config import ConfigError, Settings
from sportello.knowledge.documents import Chunk, Topic
from sportello.knowledge.vector_snapshot import VectorSnapshot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    similarity: float


def make_chroma_client(settings: Settings, *, fresh: bool = False) -> Any:
    """HttpClient when a server URL is set, else a PersistentClient in the data folder.

    `fresh`: an embedded client that re-reads the folder. Chroma shares one in-memory
    "system" per folder within a process, and that system's vector index never sees what
    another process wrote (a deleted chunk keeps being returned), so a reload must drop it.
    """
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        except ValueError as exc:  # chromadb's way of saying "no server there"
            raise ConfigError(
                f"Chroma non raggiungibile a SPORTELLO_CHROMA_URL={settings.chroma_url}: "
                "avvia il server Chroma o lascia vuota la variabile (indice incorporato)."
            ) from exc
    path = settings.resolved_chroma_path()
    path.mkdir(parents=True, exist_ok=True)
    if fresh:
        _forget_embedded_system(str(path))
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def _forget_embedded_system(identifier: str) -> None:
    """Make the next PersistentClient for `identifier` open the folder anew. The old system is
    not stopped: a search running in another thread may still be using it."""
    from chromadb.api.shared_system_client import SharedSystemClient

    with SharedSystemClient._refcount_lock:
        SharedSystemClient._identifier_to_system.pop(identifier, None)
        SharedSystemClient._identifier_to_refcount.pop(identifier, None)


def chunk_metadata(chunk: Chunk) -> dict[str, str | int]:
    return {
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "heading": chunk.heading,
        "position": chunk.position,
        "topic": chunk.topic.value if chunk.topic else "",
        "sources": json.dumps(list(chunk.sources)),
        "question_en": chunk.question_en,
    }


def chunk_from_record(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    topic = str(meta.get("topic") or "")
    return Chunk(
        id=chunk_id,
        doc_id=str(meta["doc_id"]),
        title=str(meta["title"]),
        heading=str(meta.get("heading") or ""),
        text=text,
        position=int(meta.get("position") or 0),
        topic=Topic(topic) if topic else None,
        sources=tuple(json.loads(str(meta.get("sources") or "[]"))),
        question_en=str(meta.get("question_en") or ""),
    )


class ChromaVectorStore:
    """Chunks with their vectors in one Chroma collection; we always pass our own vectors.

    `collection` is a base name: the live collection is the one a pointer collection
    (`<base>.live`) names in its metadata, or `<base>` itself before the first rebuild. A
    rebuild fills a new collection (`<base>.g<id>`) while every process keeps answering from
    the live one, then moves the pointer: no reader ever sees an empty or half index.

    Searches run in process over a `VectorSnapshot` of the live collection while it holds at
    most `in_memory_max` chunks (above that, or with 0, Chroma's own index answers). The
    snapshot is read again when `generation` (the published ingest's stamp, set by
    build_knowledge) changes, or, for a store with no `generation`, after its own writes.
    """

    def __init__(
        self,
        client: Any,
        collection: str,
        embedder_name: str,
        *,
        check_embedder: bool = True,
        in_memory_max: int = 0,
    ) -> None:
        self._client = client
        self._base = collection
        self._embedder_name = embedder_name
        self._in_memory_max = in_memory_max
        # The snapshot searched in process and the key it was read under (see `_current_snapshot`).
        self._snapshot: tuple[tuple[str, str | int], VectorSnapshot | None] | None = None
        self._snapshot_lock = threading.Lock()
        self._writes = 0
        # The stamp of the published ingest: the snapshot follows it, not single writes.
        self.generation: Callable[[], str] | None = None
        # The live collection a rebuild in progress replaces (None: no rebuild going on).
        self._replacing: str | None = None
        # Dense hits outside the published snapshot (chunks written by an ingest still running
        # on a shared Chroma server) are dropped; set by build_knowledge.
        self.published: Callable[[str], bool] | None = None
        # Run before every query: picks up a generation another process published.
        self.before_query: Callable[[], None] | None = None
        self._collection = self._open_collection()
        stored = (self._collection.metadata or {}).get("embedder")
        if check_embedder and stored and stored != embedder_name:
            raise RuntimeError(
                f"Chroma collection '{self.collection_name}' was built with the embedder "
                f"'{stored}', not '{embedder_name}': run `sportello kb ingest --rebuild`."
            )

    def _changed(self) -> None:
        """Count a write (or a switch of collection): without a `generation`, the in-process
        snapshot is read again after any of them."""
        self._writes += 1

    @property
    def collection_name(self) -> str:
        """The collection searches and writes go to now."""
        return str(self._collection.name)

    def _pointer_name(self) -> str:
        return f"{self._base}.live"

    def _live_name(self) -> str:
        try:
            pointer = self._client.get_collection(self._pointer_name())
        except NotFoundError:
            return self._base  # never rebuilt: the collection is the base name itself
        return str((pointer.metadata or {}).get("live") or self._base)

    def _open_collection(self, name: str | None = None) -> Any:
        # embedding_function=None: Chroma's default one would download a model.
        return self._client.get_or_create_collection(
            name=name or self._live_name(),
            embedding_function=None,
            metadata={"hnsw:space": "cosine", "embedder": self._embedder_name},
        )

    def reopen(self, client: Any) -> None:
        """Read the live collection through `client` from now on (another process changed it
        or published a rebuilt one)."""
        self._client = client
        self._changed()
        if self._replacing is None:
            self._collection = self._open_collection()

    def begin_rebuild(self, embedder_name: str) -> None:
        """Write to a new, empty collection from now on (a different embedding model cannot
        share one); the live one keeps serving every other process until `finish_rebuild`."""
        self._replacing = self._live_name()
        self._embedder_name = embedder_name
        self._changed()
        self._collection = self._open_collection(f"{self._base}.g{uuid.uuid4().hex[:12]}")
        logger.info("rebuilding the dense index into %s", self.collection_name)

    def finish_rebuild(self) -> None:
        """Make the rebuilt collection the live one, in one metadata write. The one it replaces
        stays until the next rebuild: a process that has not reloaded yet still reads it."""
        if self._replacing is None:
            return
        new, old = self.collection_name, self._replacing
        pointer = self._client.get_or_create_collection(
            name=self._pointer_name(), embedding_function=None
        )
        pointer.modify(metadata={"live": new})
        self._replacing = None
        self._changed()
        for found in self._client.list_collections():
            name = str(getattr(found, "name", found))
            ours = name == self._base or name.startswith(f"{self._base}.g")
            if ours and name not in (new, old):
                self._client.delete_collection(name)
        logger.info("dense index %s is live (was %s)", new, old)

    def count(self) -> int:
        return int(self._collection.count())

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if not chunks:
            return
        self._changed()
        for start in range(0, len(chunks), 1000):
            part = chunks[start : start + 1000]
            self._collection.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[start : start + 1000].tolist(),
                documents=[c.text for c in part],
                metadatas=[chunk_metadata(c) for c in part],  # type: ignore[misc]
            )

    def delete_document(self, doc_id: str) -> None:
        self._changed()
        self._collection.delete(where={"doc_id": doc_id})

    def replace_document(self, doc_id: str, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Write a document's new chunks, then drop its old ones that are gone: a search on a
        shared server never finds the document missing halfway through."""
        old = set(self._collection.get(where={"doc_id": doc_id}, include=[])["ids"])
        self.upsert(chunks, vectors)
        stale = old - {c.id for c in chunks}
        if stale:
            self._changed()
            self._collection.delete(ids=sorted(stale))

    def query(self, vector: np.ndarray, n: int, topic: Topic | None = None) -> list[DenseHit]:
        # No count() first: an empty collection answers [[]] (Chroma 1.x), and on a Chroma
        # server that check was a second HTTP round trip on every search (~40% of dense time).
        if self.before_query is not None:
            self.before_query()
        snapshot = self._current_snapshot()
        if snapshot is not None:
            found = snapshot.search(vector, n, topic)
            hits = [DenseHit(i, s) for i, s in found]
            return [h for h in hits if self.published(h.chunk_id)] if self.published else hits
        query = {
            "query_embeddings": [vector.tolist()],
            "n_results": n,
            "where": {"topic": topic.value} if topic else None,
            "include": ["distances"],
        }
        try:
            result = self._collection.query(**query)
        except NotFoundError:
            # The collection was dropped elsewhere (a rebuild two generations on, or by hand).
            logger.info("Chroma collection gone: reopening the live one")
            self._collection = self._open_collection()
            result = self._collection.query(**query)
        ids = result["ids"][0]
        distances = (result.get("distances") or [[]])[0]
        hits = [DenseHit(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]
        if self.published is not None:
            hits = [h for h in hits if self.published(h.chunk_id)]
        return hits

    @property
    def in_process_size(self) -> int | None:
        """How many vectors the last search ran over in process; None when Chroma answered
        (or before the first search)."""
        held = self._snapshot
        return None if held is None or held[1] is None else len(held[1])

    def _current_snapshot(self) -> VectorSnapshot | None:
        """The in-process snapshot to search, read again when its key changed; None when
        searches go to Chroma (in-process search off, or the collection is too large)."""
        if self._in_memory_max <= 0:
            return None
        # While a rebuild fills a new collection, the live one keeps serving.
        name = self._replacing or self.collection_name
        key = (name, self.generation() if self.generation is not None else self._writes)
        held = self._snapshot
        if held is not None and held[0] == key:
            return held[1]
        with self._snapshot_lock:
            held = self._snapshot
            if held is not None and held[0] == key:
                return held[1]
            try:
                snapshot = self._read_snapshot()
            except NotFoundError:
                logger.info("Chroma collection gone: reopening the live one")
                self._collection = self._open_collection()
                snapshot = self._read_snapshot()
            self._snapshot = (key, snapshot)
        if snapshot is not None:
            logger.info("dense search in process over %d vectors of %s", len(snapshot), name)
        return snapshot

    def _read_snapshot(self) -> VectorSnapshot | None:
        serving = self._collection
        if self._replacing is not None:
            serving = self._client.get_collection(self._replacing, embedding_function=None)
        if serving.count() > self._in_memory_max:
            return None
        return VectorSnapshot.read(serving)

    def get(self, ids: Sequence[str]) -> dict[str, Chunk]:
        if not ids:
            return {}
        result = self._collection.get(ids=list(ids), include=["documents", "metadatas"])
        docs = result.get("documents") or []
        metas = result.get("metadatas") or []
        return {
            i: chunk_from_record(i, t, dict(m))
            for i, t, m in zip(result["ids"], docs, metas, strict=True)
        }

    def all_chunks(self) -> list[Chunk]:
        """Every stored chunk (the keyword index is rebuilt from these)."""
        chunks: list[Chunk] = []
        total, page = self.count(), 5000
        for offset in range(0, total, page):
            result = self._collection.get(
                include=["documents", "metadatas"], limit=page, offset=offset
            )
            docs = result.get("documents") or []
            metas = result.get("metadatas") or []
            chunks.extend(
                chunk_from_record(i, t, dict(m))
                for i, t, m in zip(result["ids"], docs, metas, strict=True)
            )
        return chunks
