"""Incremental ingest on real Chroma and BM25: unchanged docs embed nothing, deletions leave."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sportello.config import Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import upgrade
from sportello.knowledge import indexing
from sportello.knowledge.embeddings import CountingEmbedder, Embedder
from sportello.knowledge.models import DocumentStatus, KbDocument
from sportello.knowledge.service import KnowledgeBase, build_knowledge
from tests.conftest import make_settings


def write_doc(folder: Path, name: str, title: str, body: str, topic: str = "fiscale") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\ntitle: {title}\ntopic: {topic}\nsources:\n  - https://example.org/{name}\n"
        f"reviewed: 2026-11-20\naudience: volontari\n---\n# {title}\n\n{body}\n",
        encoding="utf-8",
    )
    return path


def setup(
    tmp_path: Path, embedder: Embedder
) -> tuple[Settings, KnowledgeBase, CountingEmbedder, sessionmaker[Session]]:
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    settings = make_settings(tmp_path, kb_dir=kb_dir)
    engine = make_engine(settings)
    upgrade(engine)
    counting = CountingEmbedder(embedder)
    return settings, build_knowledge(settings, counting), counting, make_sessionmaker(engine)


def test_incremental_ingest_and_deletion(tmp_path: Path, embedder: Embedder) -> None:
    settings, kb, counting, sessions = setup(tmp_path, embedder)
    kb_dir = settings.kb_dir
    write_doc(
        kb_dir,
        "fiscale/cinque.md",
        "Cinque per mille",
        "## Scadenze\n\nLa remissione in bonis scade il 30 settembre.",
    )
    write_doc(
        kb_dir,
        "runts/iscrizione.md",
        "Iscrizione al RUNTS",
        "## Tempi\n\nL'ufficio decide entro 60 giorni.",
        topic="runts",
    )
    (kb_dir / "README.md").write_text("# Scheda dei fatti, non indicizzata")

    with sessions.begin() as session:
        first = kb.indexer.ingest([kb_dir], session=session)
    assert sorted(first.added) == ["fiscale/cinque", "runts/iscrizione"]
    embedded_once = counting.documents_embedded
    assert first.chunks_embedded == kb.vectors.count() == len(kb.keywords) > 0
    # The chunks and their sentences (stored for English questions) are the passages embedded.
    assert embedded_once == kb.vectors.count() + len(kb.sentences)

    with sessions.begin() as session:
        again = kb.indexer.ingest([kb_dir], session=session)
    assert counting.documents_embedded == embedded_once, "an unchanged KB must embed nothing"
    assert sorted(again.unchanged) == ["fiscale/cinque", "runts/iscrizione"]

    write_doc(
        kb_dir,
        "fiscale/cinque.md",
        "Cinque per mille",
        "## Scadenze\n\nLa remissione in bonis scade il 30 settembre e costa 250 euro.",
    )
    with sessions.begin() as session:
        changed = kb.indexer.ingest([kb_dir], session=session)
    assert changed.updated == ["fiscale/cinque"]
    cinque_chunks = sum(1 for c in kb.keywords.chunks if c.doc_id == "fiscale/cinque")
    # Only that document: its chunk and the one sentence that changed.
    assert counting.documents_embedded - embedded_once == cinque_chunks + 1
    hits = kb.retriever.search("quanto costa la remissione in bonis", 3)
    assert "250 euro" in hits[0].chunk.text

    (kb_dir / "runts" / "iscrizione.md").unlink()
    with sessions.begin() as session:
        removed = kb.indexer.ingest([kb_dir], session=session)
        assert removed.removed == ["runts/iscrizione"]
        assert [d.id for d in session.scalars(select(KbDocument))] == ["fiscale/cinque"]
    assert all(c.doc_id == "fiscale/cinque" for c in kb.keywords.chunks)
    assert kb.vectors.count() == len(kb.keywords)
    assert all(h.chunk.doc_id != "runts/iscrizione" for h in kb.retriever.search("RUNTS 60 giorni"))


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path: Path, embedder: Embedder) -> None:
    settings, kb, _, sessions = setup(tmp_path, embedder)
    kb_dir = settings.kb_dir
    write_doc(kb_dir, "buono.md", "Documento buono", "## Sezione\n\nTesto sulle APS.")
    (kb_dir / "rotto.pdf").write_bytes(b"%PDF-1.4 corrupted \x00\x01")
    (kb_dir / "binario.md").write_bytes(b"\x00\x01\x02\x03")
    (kb_dir / "senza-topic.md").write_text("---\ntitle: X\n---\n# X\n\nTesto.")
    with sessions.begin() as session:
        report = kb.indexer.ingest([kb_dir], session=session)
    assert report.added == ["buono"]
    failed = dict(report.failed)
    assert set(failed) == {"rotto.pdf", "binario.md", "senza-topic.md"}
    assert "PDF" in failed["rotto.pdf"] and "binari" in failed["binario.md"]
    assert "topic" in failed["senza-topic.md"]
    assert kb.retriever.search("APS")[0].chunk.doc_id == "buono"


def test_retire_and_restore(tmp_path: Path, embedder: Embedder) -> None:
    settings, kb, _, sessions = setup(tmp_path, embedder)
    write_doc(settings.kb_dir, "odv.md", "Le ODV", "## Soci\n\nServono almeno sette persone.")
    with sessions.begin() as session:
        kb.indexer.ingest([settings.kb_dir], session=session)
    with sessions.begin() as session:
        assert kb.indexer.retire("odv", session=session).status == DocumentStatus.RETIRED
    assert kb.retriever.search("sette persone") == []
    with sessions.begin() as session:
        report = kb.indexer.ingest([settings.kb_dir], session=session)
        assert report.skipped == ["odv"]
    assert kb.retriever.search("sette persone") == []
    with sessions.begin() as session:
        kb.indexer.restore("odv", session=session)
    assert kb.retriever.search("sette persone")[0].chunk.doc_id == "odv"


def test_keyword_index_survives_restart(tmp_path: Path, embedder: Embedder) -> None:
    settings, kb, _, sessions = setup(tmp_path, embedder)
    write_doc(settings.kb_dir, "aps.md", "Le APS", "## Soci\n\nLe APS hanno almeno sette soci.")
    with sessions.begin() as session:
        kb.indexer.ingest([settings.kb_dir], session=session)
    reopened = build_knowledge(settings, embedder)
    hit = reopened.retriever.search("quanti soci servono per una APS")[0]
    assert hit.chunk.doc_id == "aps" and hit.lexical_rank == 1 and hit.dense_rank == 1
    assert hit.chunk.citation == "Le APS › Soci"
    assert hit.chunk.link == "https://example.org/aps.md"


class _RunCounter(CountingEmbedder):
    """Records how many texts each model run (call) that embeds documents was given."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.runs: list[int] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.runs.append(len(texts))
        return super().embed_documents(texts)


def test_files_share_model_runs_and_each_keeps_its_own_vectors(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    kb_dir = tmp_path / "kb"
    settings = make_settings(tmp_path, kb_dir=kb_dir)
    engine = make_engine(settings)
    upgrade(engine)
    counter = _RunCounter(embedder)
    kb = build_knowledge(settings, counter)
    topics = ["fiscale", "runts", "volontari", "bilancio", "riforma", "fundraising"]
    for n, topic in enumerate(topics):
        write_doc(
            kb_dir,
            f"{topic}/scheda-{n}.md",
            f"Scheda {n}",
            f"## Domanda {n}?\n\nRisposta numero {n} sul tema {topic}, con {n * 7} giorni di tempo.",
            topic=topic,
        )
    (kb_dir / "runts" / "binario.md").write_bytes(b"\x00\x01\x02")  # refused, among the others
    # About two files' text per run: the six good files take three runs instead of six (the
    # runs after them embed the sentence store).
    monkeypatch.setattr(indexing, "EMBED_CHARS", 100)
    with make_sessionmaker(engine).begin() as session:
        report = kb.indexer.ingest([kb_dir], session=session)
    assert sorted(report.added) == sorted(f"{t}/scheda-{n}" for n, t in enumerate(topics))
    assert [name for name, _ in report.failed] == ["binario.md"]
    assert counter.runs[:3] == [2, 2, 2]
    for chunk in kb.vectors.all_chunks():  # each chunk stored with the vector of its own text
        alone = embedder.embed_documents([chunk.embedding_text()])[0]
        best = kb.vectors.query(alone, 1)[0]
        assert best.chunk_id == chunk.id and best.similarity > 0.999
    with make_sessionmaker(engine)() as session:
        rows = session.scalars(select(KbDocument)).all()
        assert {r.id: r.chunk_count for r in rows} == {c.doc_id: 1 for c in kb.vectors.all_chunks()}
    engine.dispose()
