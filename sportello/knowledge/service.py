"""The knowledge base as one object: embedder, both indexes, retriever and indexer, built once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sportello.clock import Clock, local_today
from sportello.config import Settings
from sportello.knowledge.batching import with_batching
from sportello.knowledge.cache import with_query_cache
from sportello.knowledge.embeddings import Embedder, load_embedder
from sportello.knowledge.indexing import Indexer
from sportello.knowledge.keyword_index import KeywordIndex
from sportello.knowledge.retrieval import Retriever
from sportello.knowledge.shipped_vectors import with_shipped_vectors
from sportello.knowledge.text_vectors import TextVectors, heading_vectors, sentence_vectors
from sportello.knowledge.vector_store import ChromaVectorStore, make_chroma_client

logger = logging.getLogger(__name__)


@dataclass
class KnowledgeBase:
    embedder: Embedder
    vectors: ChromaVectorStore
    keywords: KeywordIndex
    retriever: Retriever
    indexer: Indexer
    settings: Settings
    headings: TextVectors
    sentences: TextVectors

    def default_paths(self) -> list[Path]:
        """What `kb ingest` indexes with no arguments: the curated folder and staff uploads."""
        paths = [self.settings.kb_dir]
        uploads = self.settings.resolved_data_dir() / "uploads"
        if uploads.exists():
            paths.append(uploads)
        return paths


def build_knowledge(
    settings: Settings,
    embedder: Embedder | None = None,
    *,
    check_embedder: bool = True,
    clock: Clock | None = None,
) -> KnowledgeBase:
    """Wire the knowledge base for `settings`; loads the model and the persisted indexes.
    `clock`: the app's clock, so an ingest refuses review dates in the future."""
    embedder = embedder or load_embedder(settings.embedding_model, settings.embedding_threads)
    # Cache outside the batcher: a repeated question never waits for a batch.
    embedder = with_batching(embedder, settings.embedding_batch_window_ms)
    embedder = with_query_cache(embedder, settings.embedding_cache_size)
    vectors = ChromaVectorStore(
        make_chroma_client(settings),
        settings.chroma_collection,
        embedder.name,
        check_embedder=check_embedder,
        in_memory_max=settings.dense_in_memory_max,
    )
    keywords = KeywordIndex(settings.bm25_path())
    if not keywords.load() and vectors.count():
        logger.info("no keyword index on disk: rebuilding it from the vector store")
        keywords.rebuild(vectors.all_chunks())
    # What an ingest embeds (chunks, sentences, section questions) comes from the vectors
    # shipped with the curated documents where they hold the text; a person's question never.
    ingest_embedder = (
        with_shipped_vectors(embedder, settings.kb_dir) if settings.shipped_vectors else embedder
    )
    headings = heading_vectors(settings.resolved_data_dir(), embedder.name)
    sentences = sentence_vectors(settings.resolved_data_dir(), embedder.name)
    headings.load()
    sentences.load()
    missing = headings.missing(keywords.chunks)
    if missing:
        # A process without the data volume's store (a web container scaled out, a lost
        # volume) embeds the section questions once now, not a few of them in every reply.
        # The sentences (read for English questions only, and ~4x as many) are embedded as
        # those replies ask for them, until the next ingest writes them.
        logger.info("heading vectors: %d section questions not stored, embedding them", missing)
        headings.update(keywords.chunks, ingest_embedder)
    # The keyword index's GENERATION file is the one stamp of a finished ingest (written after
    # every vector): a searcher that sees a new one re-reads both indexes, and until then it
    # answers from the snapshot it has, never from chunks an unfinished ingest has written.
    keywords.on_new_generation.append(
        lambda: vectors.reopen(make_chroma_client(settings, fresh=True))
    )
    # Written by the indexer before the keyword index it publishes with, so reloaded first.
    keywords.on_new_generation[:0] = [headings.reload, sentences.reload]
    vectors.published = keywords.published
    vectors.generation = lambda: keywords.generation
    vectors.before_query = keywords.refresh_if_changed
    retriever = Retriever(
        embedder,
        vectors,
        keywords,
        candidates=settings.retrieval_candidates,
        rrf_k=settings.rrf_k,
        fusion=settings.retrieval_fusion,
        dense_weight=settings.fusion_dense_weight,
        lexical_full=settings.fusion_lexical_full,
        default_k=settings.retrieval_k,
        headings=headings,
        heading_weight=settings.retrieval_heading_weight,
        heading_top=settings.retrieval_heading_top,
    )
    indexer = Indexer(
        ingest_embedder,
        vectors,
        keywords,
        kb_dir=settings.kb_dir,
        roots=(settings.resolved_data_dir() / "uploads",),
        chunk_tokens=settings.chunk_tokens,
        overlap_tokens=settings.chunk_overlap_tokens,
        max_bytes=settings.upload_max_bytes,
        today=(lambda: local_today(clock, settings.desk_timezone)) if clock is not None else None,
        stores=(headings, sentences) if settings.sentence_vectors_at_ingest else (headings,),
    )
    return KnowledgeBase(
        embedder, vectors, keywords, retriever, indexer, settings, headings, sentences
    )
