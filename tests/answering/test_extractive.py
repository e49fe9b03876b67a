"""The extractive composer picks the question's sentences, in order, with numbered sources."""

from __future__ import annotations

from pathlib import Path

from sportello.answering.extractive import ExtractiveComposer, render
from sportello.knowledge.documents import Chunk, Topic
from sportello.knowledge.keyword_index import KeywordIndex
from sportello.knowledge.retrieval import RetrievedChunk


def chunk(i: int, heading: str, sentences: list[str], doc: str = "doc") -> Chunk:
    return Chunk(
        id=f"{doc}#{i}",
        doc_id=doc,
        title=f"Titolo {doc}",
        heading=heading,
        text="\n\n".join(sentences),
        position=i,
        topic=Topic.RUNTS,
        sources=(f"https://example.org/{doc}",),
    )


CHUNKS = [
    chunk(
        0,
        "Entro quando si deposita il bilancio?",
        [
            "Il bilancio si deposita al RUNTS entro 180 giorni dalla chiusura dell'esercizio.",
            "Per chi chiude l'esercizio il 31 dicembre la scadenza cade quindi a fine giugno.",
            "Prima la scadenza era fissata per legge al 30 giugno di ogni anno.",
        ],
    ),
    chunk(
        1,
        "Chi firma?",
        [
            "Il deposito lo fa il legale rappresentante con la sua identità digitale.",
            "Serve anche il verbale dell'assemblea che ha approvato il bilancio.",
        ],
        doc="altro",
    ),
    chunk(
        2,
        "Le ODV",
        [
            "Le organizzazioni di volontariato hanno almeno sette associati.",
            "Il nome deve contenere la sigla ODV.",
        ],
        doc="terzo",
    ),
]


def hits() -> list[RetrievedChunk]:
    return [RetrievedChunk(chunk=c, fused_score=1 / (i + 1)) for i, c in enumerate(CHUNKS)]


def composer(tmp_path: Path) -> ExtractiveComposer:
    index = KeywordIndex(tmp_path / "bm25")
    index.rebuild(CHUNKS)
    return ExtractiveComposer(index)


def test_selects_answering_sentences_in_reading_order(tmp_path: Path) -> None:
    result = composer(tmp_path).compose("Entro quando va depositato il bilancio al RUNTS?", hits())
    texts = [s for s, _ in result.sentences]
    assert texts[0].startswith("Il bilancio si deposita al RUNTS entro 180 giorni")
    assert 2 <= len(texts) <= 6
    assert not any("sette associati" in t for t in texts), "an unrelated chunk is not pasted"
    # reading order: the first source's sentences by position, then the next source
    numbers = [n for _, n in result.sentences]
    assert numbers == sorted(numbers)
    assert result.citations[0].number == 1 and result.citations[0].doc_id == "doc"
    assert result.citations[0].link == "https://example.org/doc"
    assert all(c.chunk_id in {x.id for x in CHUNKS} for c in result.citations)


def test_render_numbers_each_source(tmp_path: Path) -> None:
    result = composer(tmp_path).compose(
        "Chi firma il deposito del bilancio e serve il verbale?", hits()
    )
    text = render(result, "Ecco cosa dicono le nostre schede:")
    assert text.startswith("Ecco cosa dicono le nostre schede:")
    for citation in result.citations:
        assert f"[{citation.number}]" in text
    assert "verbale dell'assemblea" in text


def test_no_hits_no_sentences(tmp_path: Path) -> None:
    result = composer(tmp_path).compose("qualcosa", [])
    assert result.sentences == [] and result.citations == ()
