"""Each chunk's stems are computed once, at rebuild, and stored with the index: never per question."""

from __future__ import annotations

from pathlib import Path

import pytest

import sportello.knowledge.keyword_index as keyword_module
from sportello.knowledge.documents import Chunk
from sportello.knowledge.keyword_index import KeywordIndex, tokenize
from tests.spy import record_calls

CHUNKS = [
    Chunk(
        id=f"doc#{i}",
        doc_id="doc",
        title="Statuto",
        heading=heading,
        text=text,
        position=i,
    )
    for i, (heading, text) in enumerate(
        [
            ("Assemblea", "L'assemblea approva il bilancio entro quattro mesi."),
            ("Volontari", "I volontari sono assicurati contro infortuni e malattie."),
        ]
    )
]


def _count_tokenise(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return record_calls(monkeypatch, keyword_module, "tokenize")


def test_rebuild_keeps_the_stems_it_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = KeywordIndex(tmp_path / "bm25")
    index.rebuild(CHUNKS)
    calls = _count_tokenise(monkeypatch)
    for chunk in CHUNKS:
        assert index.stems(chunk) == frozenset(tokenize(chunk.embedding_text()))
    assert calls == []


def test_a_loaded_index_reads_the_stored_stems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    KeywordIndex(tmp_path / "bm25").rebuild(CHUNKS)
    calls = _count_tokenise(monkeypatch)
    index = KeywordIndex(tmp_path / "bm25")
    assert index.load()
    for chunk in CHUNKS:
        assert index.stems(chunk) == frozenset(tokenize(chunk.embedding_text()))
    assert all(text not in {c.embedding_text() for c in CHUNKS} for text in calls)


def test_an_index_stored_without_stems_computes_them_at_load(tmp_path: Path) -> None:
    KeywordIndex(tmp_path / "bm25").rebuild(CHUNKS)
    (tmp_path / "bm25" / "stems.txt").unlink()
    index = KeywordIndex(tmp_path / "bm25")
    assert index.load()
    assert index.stems(CHUNKS[1]) == frozenset(tokenize(CHUNKS[1].embedding_text()))


def test_english_questions_also_meet_the_english_twins_italian_ones_never(
    tmp_path: Path,
) -> None:
    """The twin's words rank the chunk for an English question; an Italian question's scores,
    and the stems the coverage signal reads, are those of the text alone."""
    twinned = [
        CHUNKS[0],
        Chunk(**{**CHUNKS[1].__dict__, "question_en": "Do volunteers need insurance?"}),
    ]
    plain = KeywordIndex(tmp_path / "plain")
    plain.rebuild(CHUNKS)
    index = KeywordIndex(tmp_path / "bm25")
    index.rebuild(twinned)
    assert index.search("insurance for volunteers", 2) == []  # Italian text: no shared word
    found = index.search("insurance for volunteers", 2, english=True)
    assert [c.id for c, _ in found] == ["doc#1"]
    assert index.stems(twinned[1]) == frozenset(tokenize(CHUNKS[1].embedding_text()))
    italian = "volontari assicurati"
    assert [s for _, s in index.search(italian, 2)] == [s for _, s in plain.search(italian, 2)]
    # A new process reads both rankings from disk.
    loaded = KeywordIndex(tmp_path / "bm25")
    assert loaded.load()
    assert [c.id for c, _ in loaded.search("insurance for volunteers", 2, english=True)] == [
        "doc#1"
    ]
    # An index without twins serves English questions from the text alone.
    assert plain.search("insurance for volunteers", 2, english=True) == []
