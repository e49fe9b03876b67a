"""Heading and sentence vectors: embedded at ingest (only the new ones), loaded by the next
process, and read by retrieval and the composer without embedding a text per question."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from sportello.knowledge.documents import Chunk
from sportello.knowledge.embeddings import CountingEmbedder, Embedder
from sportello.knowledge.headings import section_question
from sportello.knowledge.service import build_knowledge
from sportello.knowledge.text_vectors import heading_vectors
from sportello.services import build_assistant
from tests.knowledge.test_indexing import setup, write_doc

BODY = (
    "## Chi può iscriversi?\n\nPossono iscriversi le associazioni con almeno sette soci.\n\n"
    "## Riferimenti\n\nArt. 46 del Codice del Terzo settore.\n"
)


def _chunk(heading: str, title: str = "Guida") -> Chunk:
    return Chunk(id="c", doc_id="d", title=title, heading=heading, text="x", position=0)


def test_a_section_question_is_its_heading_or_the_title_before_a_plain_heading() -> None:
    assert section_question(_chunk("Parte › Chi può iscriversi?")) == "Chi può iscriversi?"
    assert section_question(_chunk("Riferimenti")) == "Guida: Riferimenti"
    assert section_question(_chunk("")) == "Guida"


def test_ingest_embeds_each_heading_once_and_a_new_process_reads_them(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings, kb, counting, sessions = setup(tmp_path, embedder)
    write_doc(settings.kb_dir, "iscrizione.md", "Iscrizione", BODY)
    with sessions.begin() as session:
        kb.indexer.ingest([settings.kb_dir], session=session)
    stored = {"Chi può iscriversi?", "Iscrizione: Riferimenti"}
    assert set(kb.headings._vectors) == stored
    expected = np.asarray(embedder.embed_query("Chi può iscriversi?"), dtype=np.float32)
    assert np.allclose(kb.headings._vectors["Chi può iscriversi?"], expected, atol=1e-5)

    # Nothing changed: nothing embedded again.
    before = counting.queries_embedded
    with sessions.begin() as session:
        kb.indexer.ingest([settings.kb_dir], session=session)
    assert counting.queries_embedded == before

    # Another process loads the store: a search and a composition embed the question only.
    fresh = CountingEmbedder(embedder)
    other = build_knowledge(settings, fresh)
    assert len(other.headings) == len(stored)
    hits = other.retriever.search("chi può iscriversi?", 5)
    assert hits and hits[0].chunk.heading == "Chi può iscriversi?"
    assert fresh.queries_embedded == 1

    # A renamed heading: the new one is embedded, the old one dropped.
    write_doc(settings.kb_dir, "iscrizione.md", "Iscrizione", BODY.replace("Chi", "Quali enti"))
    with sessions.begin() as session:
        kb.indexer.ingest([settings.kb_dir], session=session)
    assert "Quali enti può iscriversi?" in kb.headings._vectors
    assert "Chi può iscriversi?" not in kb.headings._vectors


def test_a_process_without_the_store_embeds_the_headings_once_at_start(
    tmp_path: Path, embedder: Embedder
) -> None:
    """A web container scaled out without the data volume rebuilds the keyword index from the
    vector store and the heading vectors with it: not a few headings in every reply."""
    settings, kb, _, sessions = setup(tmp_path, embedder)
    write_doc(settings.kb_dir, "iscrizione.md", "Iscrizione", BODY)
    with sessions.begin() as session:
        kb.indexer.ingest([settings.kb_dir], session=session)
    shutil.rmtree(settings.resolved_data_dir() / "headings")
    shutil.rmtree(settings.bm25_path())

    fresh = CountingEmbedder(embedder)
    other = build_knowledge(settings, fresh)
    assert set(other.headings._vectors) == {"Chi può iscriversi?", "Iscrizione: Riferimenti"}
    assert (settings.resolved_data_dir() / "headings" / "vectors.npy").exists()
    started = fresh.queries_embedded
    assert other.retriever.search("chi può iscriversi?", 5)
    assert fresh.queries_embedded == started + 1  # the question, no heading

    # The next process reads what this one wrote.
    again = CountingEmbedder(embedder)
    build_knowledge(settings, again)
    assert again.queries_embedded == 0


def test_ingest_stores_the_sentences_an_english_question_is_compared_with(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings, kb, counting, sessions = setup(tmp_path, embedder)
    write_doc(settings.kb_dir, "iscrizione.md", "Iscrizione", BODY)
    steps: list[tuple[str, int, int]] = []
    with sessions.begin() as session:
        kb.indexer.ingest(
            [settings.kb_dir], session=session, store_progress=lambda *step: steps.append(step)
        )
    # The progress the CLI shows while they are embedded, one store after the other.
    assert steps == [("headings", 2, 2), ("sentences", len(kb.sentences), len(kb.sentences))]
    sentence = "Possono iscriversi le associazioni con almeno sette soci."
    assert sentence in kb.sentences._vectors
    expected = np.asarray(embedder.embed_documents([sentence])[0], dtype=np.float32)
    assert np.allclose(kb.sentences._vectors[sentence], expected, atol=1e-4)
    before = counting.documents_embedded
    with sessions.begin() as session:
        kb.indexer.ingest([settings.kb_dir], session=session)
    assert counting.documents_embedded == before  # unchanged: nothing embedded again

    # Another process composes an English reply embedding the question only.
    fresh = CountingEmbedder(embedder)
    other = build_knowledge(settings, fresh)
    assistant = build_assistant(settings, other)
    hits = other.retriever.search("Who can register?", 5)
    composition = assistant.extractive.compose(
        "Who can register?", hits, language="en", embedder=fresh
    )
    assert sentence in [text for text, _ in composition.sentences]
    assert fresh.documents_embedded == 0


def test_a_store_of_another_model_is_not_read(tmp_path: Path, embedder: Embedder) -> None:
    store = heading_vectors(tmp_path, "model-a")
    store.update([_chunk("Chi può iscriversi?")], embedder)
    assert heading_vectors(tmp_path, "model-a").load()
    assert not heading_vectors(tmp_path, "model-b").load()
