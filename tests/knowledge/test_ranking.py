"""The fused ranking: weighted score fusion on made-up lists, and the real KB's top section.

The questions below are written for this test (not golden-set items): each names a need in a
volunteer's words, and the section that answers it must come first.
"""

from __future__ import annotations

import re

import pytest

from sportello.knowledge.retrieval import rrf_scores, weighted_scores
from sportello.knowledge.service import KnowledgeBase


def _order(scores: dict[str, float]) -> list[str]:
    return [cid for cid, _ in sorted(scores.items(), key=lambda item: -item[1])]


def test_weak_lexical_matches_do_not_outrank_a_strong_dense_one() -> None:
    # The best dense chunk shares no word with the question; three chunks share one common
    # word each (BM25 2-3). Rank fusion puts a middling chunk that both lists hold first (two
    # weak votes beat one strong one); weighted fusion keeps the strong dense match on top.
    dense = [("right", 0.89), ("a", 0.86), ("b", 0.85), ("c", 0.84)]
    lexical = [("noise", 3.0), ("b", 2.5), ("c", 2.0)]
    assert _order(rrf_scores(dense, lexical, 60))[0] != "right"
    assert _order(weighted_scores(dense, lexical, 0.4, 10.0))[0] == "right"


def test_a_strong_lexical_match_still_counts() -> None:
    # A chunk with the question's rare terms (high BM25) and a fair dense rank comes first.
    dense = [("a", 0.88), ("exact", 0.87), ("b", 0.80)]
    lexical = [("exact", 18.0), ("a", 4.0)]
    assert _order(weighted_scores(dense, lexical, 0.4, 10.0))[0] == "exact"


def test_single_lists_keep_their_order() -> None:
    dense = [("a", 0.9), ("b", 0.8), ("c", 0.7)]
    lexical = [("x", 9.0), ("y", 5.0)]
    assert _order(weighted_scores(dense, [], 0.4, 10.0)) == ["a", "b", "c"]
    assert _order(weighted_scores([], lexical, 0.4, 10.0)) == ["x", "y"]
    assert _order(weighted_scores([("only", 0.8)], [], 0.4, 10.0)) == ["only"]


# question, the answering document (id contains), its section heading (regex; None: any)
CASES = [
    (
        "siamo gia nell'elenco del 5x1000 dall'anno scorso, tocca ripresentare la domanda "
        "anche quest'anno?",
        "cinque-per-mille",
        r"ogni anno",
    ),
    (
        "nella nostra aps vorremmo assumere due persone, c'è un limite di dipendenti rispetto "
        "ai soci?",
        "",
        r"lavorator\w* .*APS",
    ),
    (
        "la nostra odv è rimasta con 5 soci perché alcuni sono andati via, che succede adesso?",
        "organizzazioni-di-volontariato",
        r"sotto il minimo",
    ),
    ("quante deleghe puo portare un socio in assemblea?", "", r"delega|deleghe"),
    (
        "vorremmo sistemare il giardinetto davanti alla scuola insieme al comune, come si fa a "
        "proporre un accordo?",
        "patti-di-collaborazione",
        None,
    ),
    (
        "Do we have to apply for the 5 per mille again every year or does it carry over?",
        "cinque-per-mille",
        None,
    ),
]


@pytest.mark.parametrize(("question", "doc", "heading"), CASES)
def test_the_answering_section_comes_first(
    real_kb: KnowledgeBase, question: str, doc: str, heading: str | None
) -> None:
    top = real_kb.retriever.search(question, 5)[0].chunk
    assert doc in top.doc_id, (top.doc_id, top.heading)
    if heading is not None:
        assert re.search(heading, top.heading, re.IGNORECASE), (top.doc_id, top.heading)


def test_search_embeds_the_query_once(real_kb: KnowledgeBase) -> None:
    from sportello.knowledge.embeddings import CountingEmbedder
    from sportello.knowledge.retrieval import Retriever

    counting = CountingEmbedder(real_kb.embedder)
    retriever = Retriever(counting, real_kb.vectors, real_kb.keywords)
    retriever.search("quanti soci servono per fondare una odv?", 8)
    assert counting.queries_embedded == 1 and counting.documents_embedded == 0
