"""Query expansion for the lexical side: how volunteers ask → the words our documents use.

Applied to the BM25 query and to sentence scoring, never to the text shown to anyone. Each
entry maps a colloquial phrasing to the technical terms of the same idea; the list is about the
language of the subject, not about particular questions.
"""

from __future__ import annotations

import re

_EXPANSIONS: list[tuple[str, str]] = [
    (
        r"cosa succede se|cosa rischi|cosa si rischia|che succede se|conseguenz",
        "sanzioni conseguenze",
    ),
    (
        r"entro quando|che scadenz|quando (?:va|vanno|si deve|bisogna|devo|dobbiamo)|deadline",
        "termine scadenza entro",
    ),
    (
        r"quanto tempo|quanti giorni|in quanto tempo|quanto ci (?:vuole|mette)|how long",
        "tempi termine giorni",
    ),
    (
        r"chi (?:vigila|controlla|sorveglia)|chi fa i controlli|who supervises",
        "vigilanza autorità controllo",
    ),
    (r"quanto costa|quanto si paga|costi?\b|how much does", "costo importo euro"),
    (r"\bsoldi\b|denaro|quattrini", "fondi somme importi"),
    (
        r"requisit\w*|cosa (?:serve|servono|ci vuole)|che cosa serve|condizion\w*",
        "requisiti condizioni minimo",
    ),
    (r"quant[ie] (?:soci|associati|persone|membri)", "numero minimo associati"),
    (r"dimenticat\w*|in ritardo|\btardi\b|scadut\w*|recuperare", "tardiva ritardo termine"),
    (r"consiglier\w*|amministrator\w*|direttivo", "organo di amministrazione consiglio"),
    (r"\bonline\b|sul sito|internet|web", "sito internet pubblicare"),
    (r"scaricare|detrarre|dedurre|sconto fiscale|risparmio fiscale", "detrazione deduzione"),
    (r"senza gara|affidamento diretto|affidare direttamente", "procedura comparativa affidamento"),
    (r"\bnotaio\b", "atto pubblico notaio"),
    (r"scegl\w*|scelt[ao]\b|selezion\w*", "individuare procedura selezione"),
    (r"\bpaghiamo\b|dobbiamo pagare|si paga", "imposta pagamento esenzione"),
    (r"\bvolontar[io]\b.*(?:pagat|rimbors|soldi)|rimborso", "rimborso spese volontari"),
]
_COMPILED = [(re.compile(p, re.IGNORECASE), extra) for p, extra in _EXPANSIONS]


def expand(query: str) -> str:
    """`query` plus the technical terms of the phrasings it uses."""
    extras = [extra for pattern, extra in _COMPILED if pattern.search(query)]
    return f"{query} {' '.join(extras)}" if extras else query
