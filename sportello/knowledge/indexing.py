"""Incremental ingest: load, chunk, embed and index what changed; drop what was deleted."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from sportello.errors import ErrorCode, SportelloError
from sportello.knowledge import queries
from sportello.knowledge.documents import Chunk, Document
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.kb_files import document_id, is_indexable, load_chunks
from sportello.knowledge.keyword_index import KeywordIndex
from sportello.knowledge.models import DocumentStatus, KbDocument
from sportello.knowledge.text_vectors import TextVectors
from sportello.knowledge.vector_store import ChromaVectorStore

logger = logging.getLogger(__name__)

# Bump when chunking changes in a way that must re-embed every document.
CHUNKER_VERSION = "3"
# Chunks of several files are embedded together up to about this much text (~8k tokens).
EMBED_CHARS = 32_000
Progress = Callable[[str], None]
# (store name, texts embedded, texts missing) while the heading and sentence vectors are written.
StoreProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class _Read:
    """A file read and chunked, waiting for its chunks to be embedded."""

    path: Path
    doc_id: str
    digest: str
    document: Document
    chunks: list[Chunk]

    @property
    def chars(self) -> int:
        return sum(len(c.text) for c in self.chunks)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # retired documents
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def as_dict(self) -> dict[str, object]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "skipped": len(self.skipped),
            "failed": [{"file": f, "reason": r} for f, r in self.failed],
            "chunks_embedded": self.chunks_embedded,
            "seconds": round(self.seconds, 2),
        }


class Indexer:
    """Keeps the dense and lexical indexes in step with the documents on disk."""

    def __init__(
        self,
        embedder: Embedder,
        vectors: ChromaVectorStore,
        keywords: KeywordIndex,
        *,
        kb_dir: Path,
        roots: Iterable[Path] = (),
        chunk_tokens: int,
        overlap_tokens: int,
        max_bytes: int,
        today: Callable[[], date] | None = None,
        stores: Sequence[TextVectors] = (),
    ) -> None:
        self.embedder = embedder
        self.stores = tuple(stores)  # texts embedded beside the chunks (headings, sentences)
        # The desk's today from the app's clock: a review date after it is a typo, refused.
        self.today = today
        self.vectors = vectors
        self.keywords = keywords
        self.kb_dir = kb_dir.resolve()
        # Folders a document's id is relative to, whatever path an ingest is given.
        self.roots = (self.kb_dir, *(r.resolve() for r in roots))
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        self.max_bytes = max_bytes

    # -- identities -------------------------------------------------------------------------
    def doc_id_for(self, path: Path, root: Path | None = None) -> str:
        """The id of the file at `path`: relative to the curated folder or the uploads when it
        lies there (so ingesting `knowledge_base/runts` or one file in it names a document as a
        full ingest does), else to the folder given to the ingest, else the file's stem."""
        return document_id(path, (*self.roots, root))

    def content_hash(self, data: bytes) -> str:
        digest = hashlib.sha256(data)
        config = f"{self.embedder.name}|{self.chunk_tokens}|{self.overlap_tokens}|{CHUNKER_VERSION}"
        digest.update(config.encode())
        return digest.hexdigest()

    # -- ingest -------------------------------------------------------------------------------
    def ingest(
        self,
        paths: Iterable[Path],
        *,
        session: Session,
        progress: Progress | None = None,
        store_progress: StoreProgress | None = None,
    ) -> IngestReport:
        """Index the files under `paths`; a folder also drops the documents no longer in it.
        `progress(file name)` after each file, `store_progress` while the texts stored beside
        the chunks are embedded (after the files: on a first run, as long again)."""
        started = time.perf_counter()
        report = IngestReport()
        known = {d.id: d for d in queries.documents(session)}
        # A retired file stays retired even if an older version gave it another id.
        retired_paths = {d.path: d.id for d in known.values() if d.status == DocumentStatus.RETIRED}
        seen: set[str] = set()
        for root in paths:
            root = root.resolve()
            if not root.exists():
                report.failed.append((str(root), "percorso inesistente"))
                continue
            files = (
                sorted(p for p in root.rglob("*") if is_indexable(p)) if root.is_dir() else [root]
            )
            pending: list[_Read] = []
            for path in files:
                doc_id = self.doc_id_for(path, root if root.is_dir() else None)
                doc_id = retired_paths.get(str(path.resolve()), doc_id)
                seen.add(doc_id)
                read = self._read_file(path, doc_id, known, report)
                if read is not None:
                    pending.append(read)
                elif progress:
                    progress(path.name)
                # A handful of files at most: summed again rather than kept in a second
                # counter that `_store` (which empties `pending`) would have to reset.
                if sum(r.chars for r in pending) >= EMBED_CHARS:
                    self._store(pending, known, report, session, progress)
            self._store(pending, known, report, session, progress)
            if root.is_dir():
                for doc_id, row in list(known.items()):
                    if doc_id not in seen and Path(row.path).is_relative_to(root):
                        self.vectors.delete_document(doc_id)
                        session.delete(row)
                        del known[doc_id]
                        report.removed.append(doc_id)
        # A rebuilt dense index goes live before the keyword index publishes the generation
        # that tells other processes to reload (they then open the new collection).
        self.vectors.finish_rebuild()
        stale = any(not len(store) for store in self.stores)
        if report.changed or stale or len(self.keywords) != self.vectors.count():
            self._publish(store_progress)
        session.flush()
        report.seconds = time.perf_counter() - started
        logger.info("ingest done: %s", report.as_dict())
        return report

    def _publish(self, progress: StoreProgress | None = None) -> None:
        """Rebuild what is derived from the dense index's chunks: the heading and sentence
        vectors first, then the keyword index, whose new generation tells other processes to
        reload them all."""
        chunks = self.vectors.all_chunks()
        for store in self.stores:
            name = store.path.name
            step = (lambda done, total, n=name: progress(n, done, total)) if progress else None
            embedded = store.update(chunks, self.embedder, step)
            logger.info("%s vectors: %d embedded, %d stored", name, embedded, len(store))
        self.keywords.rebuild(chunks)

    def _ingest_file(
        self,
        path: Path,
        doc_id: str,
        known: dict[str, KbDocument],
        report: IngestReport,
        session: Session,
    ) -> None:
        """Read, chunk, embed and store one file (a staff action on one document)."""
        read = self._read_file(path, doc_id, known, report)
        if read is not None:
            self._store([read], known, report, session)

    def _read_file(
        self, path: Path, doc_id: str, known: dict[str, KbDocument], report: IngestReport
    ) -> _Read | None:
        """The file's document and chunks when it must be (re)indexed; None when it is
        unchanged, retired or refused (the report says which)."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            report.failed.append((path.name, f"file illeggibile ({exc.strerror})"))
            return None
        digest = self.content_hash(data)
        row = known.get(doc_id)
        if row is not None and row.status == DocumentStatus.RETIRED:
            report.skipped.append(doc_id)
            return None
        if row is not None and row.content_hash == digest:
            report.unchanged.append(doc_id)
            return None
        try:
            document, chunks = load_chunks(
                path,
                doc_id,
                self.embedder.count_tokens,
                chunk_tokens=self.chunk_tokens,
                overlap_tokens=self.overlap_tokens,
                max_bytes=self.max_bytes,
            )
            if self.today is not None and document.reviewed and document.reviewed > self.today():
                raise SportelloError(
                    ErrorCode.CORRUPT_DOCUMENT,
                    "doc_reviewed_future",
                    reviewed=document.reviewed.isoformat(),
                )
            if not chunks:
                raise SportelloError(ErrorCode.CORRUPT_DOCUMENT, "doc_no_text")
        except SportelloError as exc:
            # The loaders prefix their reason with the file: the report names it once.
            reason = exc.detail.removeprefix(f"{path}: ").removeprefix(f"{path.name}: ")
            report.failed.append((path.name, reason))
            # INFO: the caller prints the report (a warning here showed each failure twice).
            logger.info("not indexed %s: %s", path.name, reason)
            return None
        return _Read(path, doc_id, digest, document, chunks)

    def _store(
        self,
        pending: list[_Read],
        known: dict[str, KbDocument],
        report: IngestReport,
        session: Session,
        progress: Progress | None = None,
    ) -> None:
        """Embed the chunks of the files read in one model run (the 4-bit engine reads its
        weights once per run: ~8k tokens a run took about a tenth less than a file a run,
        measured on 331 chunks), then index each file and record its row; empties `pending`."""
        if not pending:
            return
        texts = [c.embedding_text() for read in pending for c in read.chunks]
        vectors = iter(self.embedder.embed_documents(texts))
        for read in pending:
            own = [next(vectors) for _ in read.chunks]
            self._index(read, np.stack(own), known, report, session)
            if progress:
                progress(read.path.name)
        pending.clear()

    def _index(
        self,
        read: _Read,
        vectors: np.ndarray,
        known: dict[str, KbDocument],
        report: IngestReport,
        session: Session,
    ) -> None:
        doc_id, document, chunks = read.doc_id, read.document, read.chunks
        self.vectors.replace_document(doc_id, chunks, vectors)
        report.chunks_embedded += len(chunks)
        row = known.get(doc_id)
        if row is None:
            row = KbDocument(id=doc_id)
            session.add(row)
            known[doc_id] = row
            report.added.append(doc_id)
        else:
            report.updated.append(doc_id)
        row.path = str(read.path.resolve())
        row.title = document.title
        row.topic = document.topic.value if document.topic else None
        row.format = document.format
        row.sources = list(document.sources)
        row.reviewed = document.reviewed
        row.content_hash = read.digest
        row.chunk_count = len(chunks)
        row.status = DocumentStatus.ACTIVE

    # -- staff actions --------------------------------------------------------------------------
    def retire(self, doc_id: str, *, session: Session) -> KbDocument:
        """Take a document out of both indexes; its row stays so it can be restored."""
        row = session.get(KbDocument, doc_id)
        if row is None:
            raise SportelloError(ErrorCode.NOT_FOUND, "doc_not_found", doc_id=doc_id)
        self.vectors.delete_document(doc_id)
        row.status = DocumentStatus.RETIRED
        self._publish()
        return row

    def restore(self, doc_id: str, *, session: Session) -> KbDocument:
        """Put a retired document back, re-reading its file."""
        row = session.get(KbDocument, doc_id)
        if row is None:
            raise SportelloError(ErrorCode.NOT_FOUND, "doc_not_found", doc_id=doc_id)
        row.status = DocumentStatus.ACTIVE
        row.content_hash = ""  # forces re-embedding
        report = IngestReport()
        self._ingest_file(Path(row.path), doc_id, {doc_id: row}, report, session)
        if report.failed:
            raise SportelloError(
                ErrorCode.CORRUPT_DOCUMENT, "document_refused", reason=report.failed[0][1]
            )
        self._publish()
        return row

    def remove(self, doc_id: str, *, session: Session) -> None:
        """Forget a document entirely (its file is gone or must not come back by itself)."""
        row = session.get(KbDocument, doc_id)
        if row is None:
            raise SportelloError(ErrorCode.NOT_FOUND, "doc_not_found", doc_id=doc_id)
        self.vectors.delete_document(doc_id)
        session.delete(row)
        session.flush()
        self._publish()

    def reset(self) -> None:
        """Start over in an empty dense index (used by `kb ingest --rebuild`, e.g. after
        changing model). It goes live, and the keyword index with the published generation
        changes, only when the ingest that follows is done: until then every process keeps
        answering from the old collection and snapshot."""
        self.vectors.begin_rebuild(self.embedder.name)
