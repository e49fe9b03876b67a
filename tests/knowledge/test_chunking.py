"""Chunks follow headings, stay within the token bound of the real model, and overlap a little."""

from __future__ import annotations

from sportello.knowledge.chunking import chunk_document, split_sections
from sportello.knowledge.documents import Document, Topic
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.sentences import split_sentences


def doc(text: str) -> Document:
    return Document(
        id="d", title="Guida", text=text, topic=Topic.RUNTS, sources=("https://example.org",)
    )


def test_heading_paths() -> None:
    sections = split_sections(
        doc("# Guida\n\nIntro.\n\n## A\n\nTesto A.\n\n### A1\n\nTesto A1.\n\n## B\n\nTesto B.")
    )
    assert [s.path for s in sections] == [(), ("A",), ("A", "A1"), ("B",)]


def test_chunks_bounded_in_model_tokens(embedder: Embedder) -> None:
    sentence = "L'ente del Terzo settore deposita il bilancio al RUNTS entro 180 giorni. "
    text = "# Guida\n\n## Deposito\n\n" + sentence * 60 + "\n\n## Breve\n\nUna riga."
    chunks = chunk_document(doc(text), embedder.count_tokens, max_tokens=120, overlap_tokens=30)
    assert len(chunks) > 3
    for chunk in chunks:
        assert embedder.count_tokens(chunk.embedding_text()) <= 120 + 2  # joiners may add a token
    assert chunks[0].heading == "Deposito" and chunks[-1].heading == "Breve"
    assert chunks[-1].citation == "Guida › Breve"
    # consecutive chunks of one section share their boundary sentence (overlap)
    first, second = chunks[0].text.split("\n\n"), chunks[1].text.split("\n\n")
    assert first[-1] == second[0]
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert all(c.sources == ("https://example.org",) and c.topic is Topic.RUNTS for c in chunks)


def test_overlong_sentence_is_cut(embedder: Embedder) -> None:
    text = "## Lunga\n\n" + " ".join(["parola"] * 400)
    chunks = chunk_document(doc(text), embedder.count_tokens, max_tokens=64, overlap_tokens=0)
    assert len(chunks) > 3
    assert all(embedder.count_tokens(c.embedding_text()) <= 66 for c in chunks)


def test_sentence_splitter_keeps_legal_abbreviations() -> None:
    text = (
        "Secondo l'art. 41 del D.Lgs. n. 117/2017 servono 100 enti. Le reti nazionali "
        "ne hanno 500.\n\n- Prima voce senza punto\n- Seconda voce."
    )
    assert split_sentences(text) == [
        "Secondo l'art. 41 del D.Lgs. n. 117/2017 servono 100 enti.",
        "Le reti nazionali ne hanno 500.",
        "Prima voce senza punto",
        "Seconda voce.",
    ]


def test_english_twins_of_headings_are_read_never_indexed(embedder: Embedder) -> None:
    text = (
        "# Guida\n<!-- en: Guide -->\n\nIntro.\n\n"
        "## Chi deposita?\n<!-- en: Who files? -->\n\nIl presidente.\n\n"
        "## Riferimenti\n<!-- en: References -->\n\nArt. 48.\n\n"
        "## Senza gemello?\n\nTesto.\n<!-- en: not right after a heading: dropped, not read -->\n"
    )
    sections = split_sections(doc(text))
    assert [(s.path, s.heading_en, s.title_en) for s in sections] == [
        ((), "", "Guide"),
        (("Chi deposita?",), "Who files?", "Guide"),
        (("Riferimenti",), "References", "Guide"),
        (("Senza gemello?",), "", "Guide"),
    ]
    assert all("<!--" not in s.text for s in sections)
    chunks = chunk_document(doc(text), embedder.count_tokens, max_tokens=120, overlap_tokens=0)
    # A question heading's twin alone; a label after the title's twin, as in Italian; the
    # introduction is asked by the title; no twin, no English question.
    assert [c.question_en for c in chunks] == ["Guide", "Who files?", "Guide: References", ""]
    assert all("<!--" not in c.embedding_text() for c in chunks)
