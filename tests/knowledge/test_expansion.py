"""Query expansion: colloquial Italian and English words bring the documents' terms to BM25."""

from __future__ import annotations

import pytest

from sportello.knowledge.expansion import expand
from sportello.knowledge.keyword_index import tokenize


@pytest.mark.parametrize(
    ("question", "terms"),
    [
        ("How do we register our association?", {"iscrizione", "registro"}),
        ("Can volunteers get a refund of their travel expenses?", {"volontari", "rimborso"}),
        ("Who can approve the annual accounts?", {"bilancio", "rendiconto"}),
        ("Do donors get a tax deduction for cash gifts?", {"detrazione", "contanti"}),
        ("Since when has the register been operational?", {"operativo"}),
        # The field's words for documents, procedures and people (written for this test).
        ("Which accounting standard do we follow for our accounts?", {"principio", "OIC"}),
        ("Must a small charity file an income tax return?", {"dichiarazione", "redditi"}),
        ("Can an expelled member challenge the decision?", {"esclusione", "ricorso"}),
        ("Who must attend when the raffle prizes are drawn?", {"estrazione"}),
        ("Is a crowdfunding target binding once the campaign starts?", {"obiettivo"}),
        ("Can teenagers volunteer with us?", {"minorenni"}),
        ("Does our association need a VAT number?", {"partita"}),
        ("Do we have to keep a list of our volunteers?", {"registro"}),
        ("Our income is about 40k a year, which accounts do we prepare?", {"euro"}),
        (
            "Can our chair sign the application, or must the accountant?",
            {"presidente", "commercialista"},
        ),
        ("Must we withhold anything from the speaker's fee?", {"ritenuta"}),
        ("Do we hold back tax when we pay a coach?", {"ritenuta"}),
        # Everyday Italian for the law's words (written for this test).
        ("che stipendio minimo dobbiamo dare alla segretaria?", {"retribuzione"}),
        ("i soci malati possono mandare il voto per posta?", {"corrispondenza"}),
        ("i soldi del salvadanaio sul bancone come li registriamo?", {"erogazioni", "liberali"}),
    ],
)
def test_questions_gain_the_documents_terms(question: str, terms: set[str]) -> None:
    added = set(tokenize(expand(question))) - set(tokenize(question))
    assert set(tokenize(" ".join(terms))) <= added


@pytest.mark.parametrize(
    "question",
    [
        # Italian words that are English words too ("due", "fine") must not pull English senses.
        "alla fine dell'anno facciamo due assemblee, va bene?",
        "il presidente ha firmato il verbale",
        "ci cancellano dal registro se non depositiamo il bilancio?",
    ],
)
def test_italian_questions_keep_their_words(question: str) -> None:
    assert expand(question) == question


def test_expansion_never_changes_the_question_itself() -> None:
    question = "Quanto costa iscriversi al RUNTS?"
    assert expand(question).startswith(question)
