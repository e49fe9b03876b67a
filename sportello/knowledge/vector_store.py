"""Dense index: chunk embeddings in a Chroma collection (embedded folder or Chroma server)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from sportello.config import Settings
from sportello.knowledge.documents import Chunk, Topic


@dataclass(frozen=True)
class DenseHit:
    chunk_id: str
    similarity: float


def make_chroma_client(settings: Settings) -> Any:
    """HttpClient when a server URL is set, else a PersistentClient in the data folder."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    path = settings.resolved_chroma_path()
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def chunk_metadata(chunk: Chunk) -> dict[str, str | int]:
    return {
        "doc_id": chunk.doc_id,
        "title": chunk.title,
        "heading": chunk.heading,
        "position": chunk.position,
        "topic": chunk.topic.value if chunk.topic else "",
        "sources": json.dumps(list(chunk.sources)),
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
    )


class ChromaVectorStore:
    """Chunks with their vectors in one Chroma collection; we always pass our own vectors."""

    def __init__(
        self, client: Any, collection: str, embedder_name: str, *, check_embedder: bool = True
    ) -> None:
        self._client = client
        self._name = collection
        # embedding_function=None: Chroma's default one would download a model.
        self._collection = client.get_or_create_collection(
            name=collection,
            embedding_function=None,
            metadata={"hnsw:space": "cosine", "embedder": embedder_name},
        )
        stored = (self._collection.metadata or {}).get("embedder")
        if check_embedder and stored and stored != embedder_name:
            raise RuntimeError(
                f"Chroma collection '{collection}' was built with the embedder '{stored}', "
                f"not '{embedder_name}': run `sportello kb ingest --rebuild`."
            )

    def reset(self, embedder_name: str) -> None:
        """Drop every vector (a different embedding model cannot share the collection)."""
        self._client.delete_collection(self._name)
        self._collection = self._client.get_or_create_collection(
            name=self._name,
            embedding_function=None,
            metadata={"hnsw:space": "cosine", "embedder": embedder_name},
        )

    def count(self) -> int:
        return int(self._collection.count())

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if not chunks:
            return
        for start in range(0, len(chunks), 1000):
            part = chunks[start : start + 1000]
            self._collection.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[start : start + 1000].tolist(),
                documents=[c.text for c in part],
                metadatas=[chunk_metadata(c) for c in part],  # type: ignore[misc]
            )

    def delete_document(self, doc_id: str) -> None:
        self._collection.delete(where={"doc_id": doc_id})

    def query(self, vector: np.ndarray, n: int, topic: Topic | None = None) -> list[DenseHit]:
        # No count() first: an empty collection answers [[]] (Chroma 1.x), and on a Chroma
        # server that check was a second HTTP round trip on every search (~40% of dense time).
        result = self._collection.query(
            query_embeddings=[vector.tolist()],
            n_results=n,
            where={"topic": topic.value} if topic else None,
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = (result.get("distances") or [[]])[0]
        return [DenseHit(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

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
