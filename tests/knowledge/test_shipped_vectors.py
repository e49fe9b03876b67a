"""The vectors shipped with the curated documents: current, the model's own, and read by an
ingest, which runs the model only on what they lack."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import upgrade
from sportello.knowledge.embeddings import CountingEmbedder, Embedder
from sportello.knowledge.headings import section_questions
from sportello.knowledge.service import build_knowledge
from sportello.knowledge.shipped_vectors import (
    ShippedEmbedder,
    ShippedVectors,
    curated_texts,
    read_file,
    ship,
    shipped_dir,
    text_key,
)
from tests.conftest import KB_DIR, make_settings
from tests.knowledge.test_indexing import write_doc

STALE = "stale shipped vectors: run `sportello kb ship-vectors` and commit knowledge_base/_vectors/"


def texts_of(kb_dir: Path, embedder: Embedder, tmp_path: Path) -> list:  # type: ignore[type-arg]
    settings = make_settings(tmp_path, kb_dir=kb_dir)
    return curated_texts(
        kb_dir,
        embedder.count_tokens,
        chunk_tokens=settings.chunk_tokens,
        overlap_tokens=settings.chunk_overlap_tokens,
        max_bytes=settings.upload_max_bytes,
    )


def test_the_shipped_vectors_cover_the_knowledge_base_as_the_model_embeds_it(
    embedder: Embedder, tmp_path: Path
) -> None:
    folder = shipped_dir(KB_DIR, embedder.name)
    documents = texts_of(KB_DIR, embedder, tmp_path)
    files = {p.relative_to(folder).with_suffix("").as_posix() for p in folder.rglob("*.npz")}
    assert files == {d.doc_id for d in documents}, STALE
    for doc in documents:
        assert set(read_file(folder / f"{doc.doc_id}.npz")) == doc.keys(), f"{doc.doc_id}: {STALE}"
    # The files hold what the model gives for those texts, bit for bit (a seeded sample of each
    # kind: all of them would take as long as the ingest the files save).
    shipped = ShippedVectors(folder)
    rng = random.Random(13)
    passages = rng.sample(sorted({t for d in documents for t in d.passages}), 8)
    queries = rng.sample(sorted({t for d in documents for t in d.queries}), 8)
    for kind, texts, vectors in (
        ("passage", passages, embedder.embed_documents(passages)),
        ("query", queries, np.stack([embedder.embed_query(q) for q in queries])),
    ):
        for text, vector in zip(texts, vectors, strict=True):
            stored = shipped.get(text_key(kind, text))  # type: ignore[arg-type]
            assert stored is not None and np.array_equal(stored, vector), f"{kind} {text[:60]!r}"


def test_an_ingest_reads_the_shipped_vectors_and_runs_the_model_only_on_what_they_lack(
    tmp_path: Path, embedder: Embedder
) -> None:
    kb_dir = tmp_path / "kb"
    body = "## Chi presenta la domanda?\n\nLa presenta il legale rappresentante dell'ente."
    write_doc(kb_dir, "runts/domanda.md", "Domanda di iscrizione", body, topic="runts")
    write_doc(kb_dir, "fiscale/cinque.md", "Cinque per mille", "## Scadenze\n\nIl 30 settembre.")
    folder = shipped_dir(kb_dir, embedder.name)
    first = ship(texts_of(kb_dir, embedder, tmp_path), embedder, folder)
    assert sorted(first.written) == ["fiscale/cinque", "runts/domanda"] and first.embedded > 0

    # Edited after the vectors were shipped: its new texts are the only ones the model runs on.
    write_doc(kb_dir, "fiscale/cinque.md", "Cinque per mille", "## Scadenze\n\nIl 30 ottobre.")
    settings = make_settings(tmp_path, kb_dir=kb_dir)
    upgrade(make_engine(settings))
    counting = CountingEmbedder(embedder)
    kb = build_knowledge(settings, counting)
    with make_sessionmaker(make_engine(settings)).begin() as session:
        report = kb.indexer.ingest([kb_dir], session=session)
    assert sorted(report.added) == ["fiscale/cinque", "runts/domanda"]
    edited = [c for c in kb.vectors.all_chunks() if c.doc_id == "fiscale/cinque"]
    assert len(edited) == 1 and len(kb.sentences) == 2  # sentences are stored at ingest too
    assert counting.documents_embedded == 2  # the edited chunk and its one sentence
    assert counting.queries_embedded == 0  # both section questions were shipped unchanged
    assert isinstance(kb.indexer.embedder, ShippedEmbedder)
    assert kb.indexer.embedder.from_shipped > 0
    # What the index holds is what the model gives, wherever it came from.
    hits = kb.retriever.search("chi presenta la domanda di iscrizione al RUNTS?", 1)
    assert hits[0].chunk.doc_id == "runts/domanda"
    assert set(section_questions(kb.vectors.all_chunks())) <= set(kb.headings.texts())

    # Shipping again rewrites the edited document's file only, and drops a deleted one's.
    (kb_dir / "runts" / "domanda.md").unlink()
    again = ship(texts_of(kb_dir, embedder, tmp_path), embedder, folder)
    assert again.written == ["fiscale/cinque"] and again.removed == ["runts/domanda"]
    assert again.embedded == 2 and again.unchanged == 0
    assert not (folder / "runts").exists()
    assert ship(texts_of(kb_dir, embedder, tmp_path), embedder, folder).unchanged == 1


def test_a_person_s_question_is_never_looked_up_and_no_folder_means_the_model(
    tmp_path: Path, embedder: Embedder
) -> None:
    from sportello.knowledge.shipped_vectors import with_shipped_vectors

    assert with_shipped_vectors(embedder, tmp_path) is embedder  # nothing shipped for it
    counting = CountingEmbedder(embedder)
    wrapped = with_shipped_vectors(counting, KB_DIR)
    assert isinstance(wrapped, ShippedEmbedder)
    wrapped.embed_query("Chi presenta la domanda di iscrizione al RUNTS?")
    assert counting.queries_embedded == 1
    assert wrapped.embed_documents([]).shape == (0, embedder.dim)
