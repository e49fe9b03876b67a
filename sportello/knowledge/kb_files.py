"""The files of a knowledge-base folder as an ingest reads them: which are documents, the id
each gets, and its chunks. The indexer and the shipped vectors share these rules, and the
shipped vectors need nothing else of the indexer (no Chroma, no BM25, no database)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sportello.knowledge.chunking import TokenCounter, chunk_document
from sportello.knowledge.documents import Chunk, Document
from sportello.knowledge.loading import SUPPORTED_SUFFIXES, load_file


def is_indexable(path: Path) -> bool:
    name = path.name
    return (
        path.is_file()
        and path.suffix.lower() in SUPPORTED_SUFFIXES
        and not name.startswith((".", "_"))
        and name.lower() != "readme.md"
    )


def document_id(path: Path, roots: Iterable[Path | None]) -> str:
    """The id of the file at `path`: its path relative to the first of `roots` it lies in,
    without the suffix, else the file's stem. One rule for an ingest and for the shipped
    vectors, whose files are named by the id an ingest gives a curated document."""
    path = path.resolve()
    for base in roots:
        if base is not None and path.is_relative_to(base.resolve()):
            return path.relative_to(base.resolve()).with_suffix("").as_posix()
    return path.stem


def load_chunks(
    path: Path,
    doc_id: str,
    count_tokens: TokenCounter,
    *,
    chunk_tokens: int,
    overlap_tokens: int,
    max_bytes: int,
) -> tuple[Document, list[Chunk]]:
    """The document in the file at `path` and its chunks, as an ingest with these settings
    makes them (`count_tokens`: the model's): the shipped vectors are made from the same
    chunks, so an ingest finds them. A file it cannot read raises SportelloError."""
    document = load_file(path, doc_id, max_bytes=max_bytes)
    return document, chunk_document(document, count_tokens, chunk_tokens, overlap_tokens)
