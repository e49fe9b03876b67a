"""The extractive composer answers first: the lead of the best section, then only what adds an
asked-for fact; references come with what they refer to, enumerations whole, sources numbered."""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sportello.answering.assistant import Assistant
from sportello.answering.extractive import ExtractiveComposer, read_section, render
from sportello.answering.schemas import Action
from sportello.config import Settings
from sportello.knowledge.discourse import (
    announced_count,
    answers_yes_no,
    asks_definition,
    asks_yes_no,
    enumeration_end,
    leans_back,
    opens_with_reference,
    without_reply,
)
from sportello.knowledge.documents import Chunk, Topic
from sportello.knowledge.keyword_index import KeywordIndex, tokenize
from sportello.knowledge.retrieval import RetrievedChunk
from sportello.knowledge.service import KnowledgeBase
from sportello.services import build_assistant


def chunk(i: int, heading: str, sentences: list[str], doc: str = "doc", title: str = "") -> Chunk:
    return Chunk(
        id=f"{doc}#{i}",
        doc_id=doc,
        title=title or f"Titolo {doc}",
        heading=heading,
        text="\n\n".join(sentences),
        position=i,
        topic=Topic.RUNTS,
        sources=(f"https://example.org/{doc}",),
    )


DEPOSIT = chunk(
    0,
    "Entro quando si deposita il rendiconto al registro?",
    [
        "Il rendiconto si deposita al registro entro 180 giorni dalla chiusura dell'esercizio.",
        "Per chi chiude l'esercizio il 31 dicembre la scadenza cade quindi a fine giugno.",
        "Prima la scadenza era fissata per legge al 30 giugno di ogni anno.",
    ],
)
SIGNER = chunk(
    1,
    "Chi firma il deposito?",
    [
        "Il deposito lo fa il legale rappresentante con la sua identità digitale.",
        "Serve anche il verbale dell'assemblea che ha approvato il rendiconto.",
    ],
    doc="firma",
)
FOUNDERS = chunk(
    2,
    "Quante persone servono per fondare un circolo?",
    [
        "Un circolo si fonda con almeno sette persone fisiche.",
        "Può essere fondato anche da almeno tre altri circoli.",
        "Il numero di questi altri enti associati non può superare la metà dei soci persone.",
    ],
    doc="circoli",
)
WORKERS = chunk(
    3,
    "Un amministratore che lavora gratis è un volontario?",
    [
        "Sì, se svolge l'incarico gratuitamente.",
        "L'amministratore non riceve compensi per la carica.",
    ],
    doc="amministratori",
)
VOLUNTEER = chunk(
    4,
    "Chi è il volontario?",
    [
        "Volontario è chi presta la propria opera gratuitamente per fini di solidarietà.",
        "Chi lavora gratis senza un fine solidale non è un volontario.",
    ],
    doc="volontari",
)
CONDITIONS = chunk(
    5,
    "Quando la donazione dà diritto alla detrazione?",
    [
        "La donazione dà diritto alla detrazione solo se sono rispettate tre condizioni.",
        "La prima condizione è che il pagamento sia tracciabile.",
        "La seconda condizione è che l'ente rilasci una ricevuta.",
        "La terza condizione è che il denaro arrivi all'ente.",
        "Le donazioni in natura seguono un decreto a parte.",
    ],
    doc="detrazioni",
)
CHUNKS = [DEPOSIT, SIGNER, FOUNDERS, WORKERS, VOLUNTEER, CONDITIONS]


def hits(*chunks: Chunk) -> list[RetrievedChunk]:
    return [RetrievedChunk(chunk=c, fused_score=1 / (i + 1)) for i, c in enumerate(chunks)]


def composer(tmp_path: Path, *extra: Chunk, **options: float) -> ExtractiveComposer:
    """A composer over CHUNKS and `extra` (their BM25 index gives the question words' IDF)."""
    index = KeywordIndex(tmp_path / "bm25")
    index.rebuild([*CHUNKS, *extra])
    return ExtractiveComposer(index, **options)  # type: ignore[arg-type]


class WordEmbedder:
    """A stand-in for the multilingual model: hashed word stems, so similarity = shared words.

    `aliases` maps an English word to the Italian stem it means, as a multilingual model would.
    """

    name = "words"
    dim = 256

    def __init__(self, aliases: dict[str, str] | None = None) -> None:
        self.aliases = aliases or {}

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            stem = self.aliases.get(word) or (tokenize(word) or [""])[0]
            if stem:
                vector[zlib.crc32(stem.encode()) % self.dim] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim))

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def texts(result: object) -> list[str]:
    return [s for s, _ in result.sentences]  # type: ignore[attr-defined]


# -- the rules, on single sentences ------------------------------------------------------------
@pytest.mark.parametrize(
    "sentence",
    [
        "Questi enti devono iscriversi entro un anno.",
        "Tale limite vale per tutti.",
        "Inoltre serve il verbale.",
        "In questo caso la domanda va al notaio.",
        "Anche le APS possono farlo.",
        "Invece le fondazioni non possono.",
        "Ciò significa che il termine è perentorio.",
        "Lo stesso vale per le APS.",
        "Quest'ultimo deve firmare la domanda.",
        "Il primo rischio è l'infortunio.",
        "La prima condizione è la tracciabilità.",
        "Il numero di questi altri enti non può superare la metà.",
        "Entro tale termine l'ufficio decide.",
        "Per questo conviene conservare le ricevute.",
        "Per esempio, un'APS può organizzare una cena sociale.",
        "Per le fondazioni, invece, il limite è più alto.",
        "Nel 2026, inoltre, cambia il regime IVA.",
        "Per gli altri enti la regola è diversa.",
        # Things already counted: a definite article with a count.
        "I due limiti sono alternativi.",
        "Basta rispettare uno dei due limiti.",
        "Le tre condizioni valgono insieme.",
        # A conclusion drawn from the sentence before, after the subject and verb.
        "Un ente iscritto a giugno chiede quindi l'accreditamento per l'anno dopo.",
        "Il termine è dunque dimezzato.",
        "Non può pertanto essere nominato amministratore.",
    ],
)
def test_sentences_that_lean_on_the_one_before(sentence: str) -> None:
    assert opens_with_reference(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Il bilancio si deposita entro 180 giorni.",
        "È obbligatorio iscriversi al registro per essere un ente del Terzo settore.",
        "Una stessa persona non può essere volontaria e lavoratrice nello stesso ente.",
        "Secondo l'art. 17 del Codice, il volontario non può essere retribuito.",
        "Gli altri enti del Terzo settore si iscrivono nella sezione g).",
        "Quello che conta è la sede legale.",
        "Sì, se svolge l'incarico gratuitamente.",
        "Le tariffe cambiano ogni anno, quindi prima dell'evento chiedi il preventivo.",
        "Il RUNTS è diviso in 7 sezioni.",
        "Un ente può scegliere tra due regimi fiscali.",
    ],
)
def test_sentences_that_stand_alone(sentence: str) -> None:
    assert not opens_with_reference(sentence)


@pytest.mark.parametrize(
    ("sentence", "leans"),
    [
        # A demonstrative later in the opening clause still points at the sentence before.
        ("Rivendere i beni o passarli ad altri non corrisponde a questo impegno.", True),
        ("Per gli inserimenti in struttura la stessa delibera prevede un solo codice.", True),
        ("Le associazioni con molti soci possono regolare queste competenze diversamente.", True),
        ("Il presidente della ODV non può invece essere pagato per la carica.", True),
        ("Questi enti devono iscriversi entro un anno.", True),  # what opens_with_reference says
        # A comparison or a time inside the sentence, or a reference after the opening clause.
        ("Una ODV di secondo livello è formata da tre ODV invece che da sette persone.", False),
        ("Detrazione e deduzione non si possono cumulare per la stessa donazione.", False),
        ("Il termine per il deposito del bilancio cade quest'anno il 30 giugno.", False),
        ("Il bilancio si deposita entro 180 giorni, e questo vale per tutti.", False),
    ],
)
def test_which_sentences_lean_back_anywhere_in_their_opening_clause(
    sentence: str, leans: bool
) -> None:
    assert leans_back(sentence) is leans


def test_yes_no_replies_and_announced_counts() -> None:
    assert answers_yes_no("Sì, se svolge l'incarico gratuitamente.")
    assert answers_yes_no("No.") and answers_yes_no("No: il divieto è assoluto.")
    assert answers_yes_no("Dipende dal tipo di associazione.")
    # Whatever form the preposition takes ("dall'", "dallo", "dai", "dagli", "dalle").
    assert answers_yes_no("Dipende dall'affiliazione della APS.")
    assert answers_yes_no("Dipende dallo statuto: la legge non lo dice.")
    assert answers_yes_no("Dipende dagli accordi presi con il comune.")
    assert not answers_yes_no("Si può presentare la domanda online.")
    assert not answers_yes_no("Non è obbligatorio iscriversi.")
    # A yes or no qualified by a few words is still the reply to a yes/no question.
    assert answers_yes_no("Quasi sempre sì, purché lo statuto lo preveda.")
    assert answers_yes_no("Per le fondazioni no.") and answers_yes_no("Di norma sì: …")
    assert not answers_yes_no("Il numero minimo dei soci non è sette.")
    assert not answers_yes_no("Questo vale anche per chi dice di no al rinnovo.")
    assert announced_count("L'ente deve assicurarli per tre rischi.") == 3
    assert announced_count("Le attività ammesse sono quattro:") == 4
    assert announced_count("Il registro esiste da tre anni.") is None
    assert announced_count("Se supera 2 dei 3 limiti per due esercizi.") == 3
    # A sentence that closes on the count announces as many items as a colon would.
    assert announced_count("Le forme sono due.") == 2
    closes = [
        "Le forme sono due.",
        "Nella prima un ente assorbe l'altro.",
        "Nella seconda nasce un ente.",
    ]
    assert enumeration_end([*closes, "Il Cesvot la consiglia."], 0) == 3


def test_enumerations_are_found_whole() -> None:
    counted = [
        "Servono tre condizioni.",
        "La prima è la tracciabilità.",
        "La seconda è la ricevuta.",
        "Questo vale anche per i bonifici.",
        "La terza è l'incasso.",
        "Le donazioni in natura seguono un decreto.",
    ]
    assert enumeration_end(counted, 0) == 5
    listed = [
        "L'art. 50 prevede la cancellazione in questi casi:",
        "su istanza dell'ente;",
        "per scioglimento;",
        "quando mancano i requisiti.",
        "Contro la cancellazione si può ricorrere al TAR.",
    ]
    assert enumeration_end(listed, 0) == 4
    same_opening = [
        "Le competenze dell'assemblea sono:",
        "L'assemblea nomina gli organi.",
        "L'assemblea approva il bilancio.",
        "Le associazioni grandi possono avere assemblee separate.",
    ]
    assert enumeration_end(same_opening, 0) == 3
    assert enumeration_end(["Il registro esiste da tre anni.", "Ha sette sezioni."], 0) is None


# -- the composer, on made-up sections ----------------------------------------------------------
def test_leads_with_the_answer_and_adds_only_asked_facts(tmp_path: Path) -> None:
    result = composer(tmp_path).compose(
        "Entro quando va depositato il rendiconto al registro?", hits(DEPOSIT, SIGNER, FOUNDERS)
    )
    lines = texts(result)
    assert lines[0].startswith("Il rendiconto si deposita al registro entro 180 giorni")
    assert not any("sette persone" in t for t in lines), "an unrelated section is not pasted"
    assert result.citations[0].doc_id == "doc"
    assert result.citations[0].link == "https://example.org/doc"
    assert all(c.chunk_id in {x.id for x in CHUNKS} for c in result.citations)


def test_no_opening_line_and_numbered_sources(tmp_path: Path) -> None:
    result = composer(tmp_path).compose(
        "Chi firma il deposito del rendiconto?", hits(SIGNER, DEPOSIT)
    )
    text = render(result)
    assert text.startswith("Il deposito lo fa il legale rappresentante")
    for citation in result.citations:
        assert f"[{citation.number}]" in text


def test_a_list_of_legal_references_is_never_quoted(tmp_path: Path) -> None:
    references = chunk(
        9,
        "Riferimenti normativi",
        [
            "D.Lgs. 117/2017, art. 48, comma 3, sul deposito del rendiconto al registro.",
            "DM 106/2020.",
        ],
    )
    result = composer(tmp_path, references).compose(
        "Quale norma dice entro quando si deposita il rendiconto al registro?",
        hits(references, DEPOSIT),
    )
    assert texts(result)[0].startswith("Il rendiconto si deposita al registro entro 180 giorni")
    assert references.id not in {c.chunk_id for c in result.citations}


def test_a_reference_comes_with_the_sentence_it_leans_on(tmp_path: Path) -> None:
    result = composer(tmp_path).compose(
        "Quanti altri enti associati può avere al massimo un circolo?", hits(FOUNDERS, DEPOSIT)
    )
    lines = texts(result)
    assert not opens_with_reference(lines[0])
    for i, line in enumerate(lines):
        if opens_with_reference(line):
            assert i > 0
            source = FOUNDERS.text.split("\n\n")
            assert source.index(lines[i - 1]) == source.index(line) - 1


def test_a_yes_no_reply_leads_only_under_a_heading_that_asks_the_same(tmp_path: Path) -> None:
    embedder = WordEmbedder()
    options = {"heading_bar": 0.5, "yes_no_bar": 0.75}
    question = "Chi lavora gratis per l'associazione è sempre un volontario?"
    result = composer(tmp_path, **options).compose(
        question, hits(WORKERS, VOLUNTEER), embedder=embedder
    )
    assert not answers_yes_no(texts(result)[0])
    assert "fine solidale" in render(result)
    same = "Un amministratore che lavora gratis è un volontario?"
    result = composer(tmp_path, **options).compose(same, hits(WORKERS), embedder=embedder)
    assert texts(result)[0].startswith("Sì, se svolge l'incarico gratuitamente")
    assert len(texts(result)) >= 2, "a bare yes comes with its explanation"


@pytest.mark.parametrize(
    ("sentence", "statement"),
    [
        (
            "No, un ETS non è obbligato a spendere l'avanzo.",
            "Un ETS non è obbligato a spendere l'avanzo.",
        ),
        ("Sì: la APS può assumere i propri soci.", "La APS può assumere i propri soci."),
        ("No, non serve il notaio.", "Non serve il notaio."),
        # A condition, a contrast or a reference needs its yes or no to mean anything.
        ("Sì, se svolge l'incarico gratuitamente.", None),
        ("No, ma conviene farlo.", None),
        ("Sì, anche le APS.", None),
        ("Sì, questi enti possono farlo.", None),
        ("Dipende dallo statuto.", None),
        ("No.", None),
    ],
)
def test_a_reply_without_its_yes_or_no(sentence: str, statement: str | None) -> None:
    assert without_reply(sentence) == statement


def test_a_yes_no_reply_that_restates_its_heading_answers_another_form_of_it(
    tmp_path: Path,
) -> None:
    """A heading asking this question in yes/no form leads with its reply's statement, without
    the yes or no nobody asked for; a bare yes or no under it never leads."""
    same = chunk(
        7,
        "L'accreditamento del comune è lo stesso dell'accreditamento regionale?",
        [
            "No, l'accreditamento del comune non è lo stesso dell'accreditamento regionale.",
            "Il comune lo usa per scegliere i partner di un progetto.",
            "La regione lo usa per autorizzare strutture e servizi.",
        ],
        doc="accreditamento",
    )
    asked = "Che differenza c'è tra l'accreditamento del comune e quello regionale?"
    result = composer(tmp_path, same, heading_bar=0.3, yes_no_bar=0.95).compose(
        asked, hits(same), embedder=WordEmbedder()
    )
    lead = texts(result)[0]
    assert lead.startswith("L'accreditamento del comune non è lo stesso"), render(result)
    assert "regione" in render(result)


def test_a_yes_no_reply_in_the_askers_words_leads_under_a_wider_heading(tmp_path: Path) -> None:
    """A heading asking two things at once matches a question on one of them only partly; its
    "No, …" still leads when it says what the person asked in their own words, and not for a
    question on the other thing."""
    fees = chunk(
        7,
        "Le quote dei soci sono tassate? I servizi ai soci e ai familiari sono commerciali?",
        [
            "No, le quote associative versate dai soci non sono tassate.",
            "Le attività verso i soci sono non commerciali se conformi alle finalità.",
            "Le cessioni di beni ai soci dietro corrispettivi specifici sono invece commerciali.",
        ],
        doc="quote",
    )
    options = {"heading_bar": 0.99, "yes_no_bar": 0.99}
    result = composer(tmp_path, fees, **options).compose(
        "le quote associative sono tassate?", hits(fees), embedder=WordEmbedder()
    )
    assert texts(result)[0].startswith("No, le quote associative versate dai soci"), render(result)
    other = "Le cessioni di beni ai soci sono commerciali?"
    result = composer(tmp_path, fees, **options).compose(other, hits(fees), embedder=WordEmbedder())
    assert not answers_yes_no(texts(result)[0]), render(result)


def test_a_reference_follows_its_sentence_taken_from_another_section(tmp_path: Path) -> None:
    rule = chunk(
        7,
        "Quando un'attività è non commerciale?",
        [
            "Un'attività è non commerciale se i corrispettivi non superano i costi effettivi.",
            "Nei costi effettivi contano anche i costi indiretti.",
        ],
        doc="attivita",
    )
    margin = chunk(
        8,
        "Cos'è il margine tollerato?",
        [
            "Le entrate possono superare le spese del 6% al massimo senza perdere la qualifica.",
            "Questo margine vale per non più di 3 periodi d'imposta consecutivi.",
        ],
        doc="margine",
    )
    result = composer(tmp_path, rule, margin).compose(
        "Un'attività resta non commerciale se le entrate superano le spese? Di quanto e per quanto?",
        hits(rule, DEPOSIT, margin),
    )
    lines = texts(result)
    assert "superare le spese del 6%" in " ".join(lines)
    # The duration leans on the sentence with the margin: it comes right after it.
    follows = lines.index(margin.text.split("\n\n")[0]) + 1
    assert lines[follows].startswith("Questo margine vale per non più di 3 periodi")


def test_a_list_asked_for_comes_after_the_sentence_that_announces_it(tmp_path: Path) -> None:
    intro = chunk(
        7,
        "Che cos'è il registro?",
        [
            "Il registro raccoglie gli enti del settore ed è diviso in 3 sezioni.",
            "Ogni ente sta in una sola sezione.",
        ],
        doc="registro",
    )
    parts = chunk(
        8,
        "Come è organizzato l'archivio?",
        [
            "Per legge le parti del registro sono 3, numerate in ordine.",
            "Le sezioni sono queste:",
            "la sezione dei circoli;",
            "la sezione delle fondazioni;",
            "la sezione degli altri enti.",
            "Il ministero può aggiungerne altre.",
        ],
        doc="sezioni",
    )
    compose = composer(tmp_path, intro, parts).compose
    lines = texts(
        compose("In quante sezioni è diviso il registro e quali sono?", hits(intro, parts))
    )
    start = lines.index("Le sezioni sono queste:")
    assert lines[start - 1] == "Per legge le parti del registro sono 3, numerate in ordine."
    assert lines[start + 1 : start + 4] == parts.text.split("\n\n")[2:5], "the list, whole"
    # Asked only how many, the list stays out.
    lines = texts(compose("In quante sezioni è diviso il registro?", hits(intro, parts)))
    assert "Le sezioni sono queste:" not in lines


def test_an_enumeration_comes_whole(tmp_path: Path) -> None:
    result = composer(tmp_path).compose(
        "Qual è la seconda condizione per detrarre la donazione?", hits(CONDITIONS, DEPOSIT)
    )
    lines = texts(result)
    items = [t for t in lines if t.startswith(("La prima", "La seconda", "La terza"))]
    assert len(items) == 3
    assert lines.index(items[0]) == lines.index(CONDITIONS.text.split("\n\n")[0]) + 1


def test_an_enumeration_too_long_to_quote_is_left_out(tmp_path: Path) -> None:
    long_list = chunk(
        9,
        "Quali sono le lettere?",
        [
            "Le lettere dell'elenco sono queste:",
            *[
                f"la lettera {c}) riguarda un'attività lunga da descrivere per intero;"
                for c in "abcdefghij"
            ],
            "Le attività diverse sono secondarie.",
        ],
        doc="lettere",
    )
    index = KeywordIndex(tmp_path / "bm25")
    index.rebuild([long_list])
    result = ExtractiveComposer(index, block_chars=200).compose(
        "Quali attività riguarda la lettera c)?", hits(long_list)
    )
    assert not any("lettera c)" in t for t in texts(result))


def test_english_questions_are_scored_by_meaning(tmp_path: Path) -> None:
    embedder = WordEmbedder(
        {"deadline": "termin", "file": "deposit", "filed": "deposit", "statement": "rendicont"}
    )
    result = composer(tmp_path).compose(
        "What is the deadline for the statement to be filed?",
        hits(SIGNER, DEPOSIT),
        language="en",
        embedder=embedder,
    )
    assert any("180 giorni" in t for t in texts(result))


class FixedEmbedder:
    """Each known text at a set cosine from the question (the text mapped to 1.0); any other
    text orthogonal to all of them."""

    name = "fixed"
    dim = 3

    def __init__(self, cosines: dict[str, float]) -> None:
        self.cosines = cosines

    def _vector(self, text: str) -> np.ndarray:
        if text not in self.cosines:
            return np.array([0.0, 0.0, 1.0], dtype=np.float32)
        cos = self.cosines[text]
        return np.array([cos, np.sqrt(1 - cos * cos), 0.0], dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts])

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def test_an_english_answer_keeps_the_sentence_that_completes_a_fact_it_gives(
    tmp_path: Path,
) -> None:
    """Composed by meaning, a sentence going on with one already in the answer ("Questo
    margine vale per 3 periodi") is read as near as the lead's own sentences: it completes the
    fact, though on its own it is further from the question."""
    asked = "How far above its costs may an activity earn?"
    rule = "Un'attività è non commerciale se i ricavi non superano i costi."
    margin = "Il margine ammesso sopra i costi è del 6%."
    periods = "Questo margine vale per non più di 3 periodi d'imposta."
    lead = chunk(0, "Quando un'attività è non commerciale?", [rule], "attivita")
    other = chunk(1, "Quale margine è ammesso?", [margin, periods], "attivita")
    cosines = {asked: 1.0, lead.heading: 0.95, other.heading: 0.9, rule: 0.9}
    embedder = FixedEmbedder({**cosines, margin: 0.88, periods: 0.82})
    index = KeywordIndex(tmp_path / "bm25")
    index.rebuild([lead, other])
    found = hits(lead, other)

    def reply(**options: bool) -> list[str]:
        composer = ExtractiveComposer(index, **options)  # type: ignore[arg-type]
        return texts(composer.compose(asked, found, language="en", embedder=embedder))

    assert reply(semantic_continuation=False) == [rule, margin], "the case this test is for"
    assert reply() == [rule, margin, periods]


def test_an_english_question_is_matched_on_the_headings_english_twins(tmp_path: Path) -> None:
    # No English word means anything Italian to this embedder: only the twins can match.
    signer = replace(SIGNER, question_en="Who signs the filing?")
    deposit = replace(DEPOSIT, question_en="By when is the statement filed?")
    result = composer(tmp_path).compose(
        "Who signs the filing?",
        hits(deposit, signer),
        language="en",
        embedder=WordEmbedder(),
    )
    assert texts(result)[0].startswith("Il deposito lo fa il legale rappresentante")


def test_no_hits_no_sentences(tmp_path: Path) -> None:
    result = composer(tmp_path).compose("qualcosa", [])
    assert result.sentences == [] and result.citations == ()


# -- the real knowledge base, a few questions of our own --------------------------------------
@pytest.fixture(scope="module")
def assistant(real_kb: KnowledgeBase, real_kb_settings: Settings) -> Assistant:
    return build_assistant(real_kb_settings, real_kb)


@pytest.mark.parametrize(
    ("question", "first_paragraph"),
    [
        ("Entro quanti giorni bisogna depositare il bilancio al RUNTS?", r"180 giorni"),
        ("Con quanti soci minimo si può costituire una ODV?", r"\b(7|sette)\b"),
        ("How many members are needed to set up an ODV?", r"\b(7|sette)\b"),
        ("Chi paga la polizza assicurativa dei volontari?", r"assicura"),
    ],
)
def test_real_replies_answer_in_the_first_paragraph(
    assistant: Assistant, question: str, first_paragraph: str
) -> None:
    reply = assistant.reply([], question)
    assert reply.action is Action.ANSWER
    first = reply.text.split("\n\n")[0]
    assert re.search(first_paragraph, first, re.IGNORECASE), first
    assert not opens_with_reference(first)
    assert not first.startswith(("Ecco", "Here is"))
    assert reply.citations and all(
        assistant.retriever.keywords.get(c.chunk_id) is not None for c in reply.citations
    )
    if reply.language == "en":
        assert reply.text.rstrip().endswith(")"), "the English note comes after the answer"


def test_a_question_no_yes_or_no_answers_never_gets_one_as_its_lead(tmp_path: Path) -> None:
    """ "Che cosa…", "come…", "what…" ask for content: a "Sì, …" under the closest heading
    answers that heading, however close it is."""
    options = {"heading_bar": 0.3, "yes_no_bar": 0.3}
    asked = "Che cosa rende volontario un amministratore che lavora gratis?"
    result = composer(tmp_path, **options).compose(
        asked, hits(WORKERS, VOLUNTEER), embedder=WordEmbedder()
    )
    assert texts(result) and not answers_yes_no(texts(result)[0]), render(result)
    same = "Un amministratore che lavora gratis è un volontario?"
    result = composer(tmp_path, **options).compose(same, hits(WORKERS), embedder=WordEmbedder())
    assert texts(result)[0].startswith("Sì, se svolge"), "the case this test is for"


@pytest.mark.parametrize(
    ("question", "yes_no"),
    [
        ("che differenza c'è tra odv e aps?", False),
        ("ciao, cos'è il runts?", False),
        ("e il 5x1000 a chi va?", False),
        ("la pec quanto costa?", False),
        ("entro quando va depositato il bilancio", False),
        ("What are the conditions for the deduction?", False),
        ("siamo una odv di 20 soci, il presidente vuole un compenso, si può?", True),
        ("quando facciamo la festa, serve la scia?", True),
        ("Si può fare? E per quanto tempo?", True),
        ("Can we sell cakes at the fair?", True),
        # A subject put before the question word.
        ("una ditta ci dona 3.000 euro: loro che vantaggio fiscale hanno?", False),
        ("e noi cosa dobbiamo fare adesso?", False),
        ("noi possiamo rilasciare la ricevuta?", True),
    ],
)
def test_which_questions_a_yes_or_no_can_answer(question: str, yes_no: bool) -> None:
    assert asks_yes_no(question) is yes_no


def test_a_heading_asking_this_very_question_leads_with_its_opening(tmp_path: Path) -> None:
    """The KB answers a heading in its first sentences; a later sentence of the same section
    that shares more of the question's words (here "soci") does not lead in front of it."""
    section = chunk(
        0,
        "Quanti soci servono per costituire un circolo?",
        [
            "Un circolo si costituisce con almeno sette persone fisiche.",
            "Lo statuto del circolo dice quanti soci servono per costituire le sezioni locali.",
        ],
        doc="soci",
    )
    index = KeywordIndex(tmp_path / "bm25")
    index.rebuild([section])
    question = "quanti soci servono per costituire un circolo?"
    plain = ExtractiveComposer(index, asked_opening_bonus=0.0)
    result = plain.compose(question, hits(section), embedder=WordEmbedder())
    assert texts(result)[0].startswith("Lo statuto"), "the case this test is for"
    result = ExtractiveComposer(index).compose(question, hits(section), embedder=WordEmbedder())
    assert texts(result)[0].startswith("Un circolo si costituisce"), render(result)


@pytest.mark.parametrize(
    ("question", "definition"),
    [
        ("cos'è il registro dei volontari?", True),
        ("ciao, che cosa sono i libri sociali?", True),
        ("cosa si intende per raccolta pubblica occasionale?", True),
        ("What is an APS?", True),
        ("What does ETS mean?", True),
        ("cos'è cambiato con la riforma?", False),  # an event, not a thing
        ("ci chiedono il timesheet. cos'è e cosa serve oltre a quello?", False),  # said before
        ("What is the deadline for the accounts?", False),
        ("come si tiene il registro dei volontari?", False),
    ],
)
def test_which_questions_ask_for_a_definition(question: str, definition: bool) -> None:
    assert asks_definition(question) is definition


def test_a_definition_leads_with_the_introduction_not_a_neighbouring_section(
    tmp_path: Path,
) -> None:
    """Asked what the register is, the reply defines it (the introduction) rather than opening
    with what is written in it, though retrieval ranked that section first."""
    title = "Il registro dei volontari"
    intro = chunk(
        0,
        "",
        ["Il registro dei volontari è il libro in cui l'ente iscrive chi fa volontariato."],
        doc="registro",
        title=title,
    )
    contents = chunk(
        1,
        "Cosa si scrive nel registro dei volontari?",
        ["Nel registro dei volontari si scrivono nome, cognome e data di inizio."],
        doc="registro",
        title=title,
    )
    index = KeywordIndex(tmp_path / "bm25")
    index.rebuild([intro, contents])
    question = "cos'è il registro dei volontari?"
    plain = ExtractiveComposer(index, definition_bonus=0.0)
    result = plain.compose(question, hits(contents, intro), embedder=WordEmbedder())
    assert texts(result)[0].startswith("Nel registro"), "the case this test is for"
    result = ExtractiveComposer(index).compose(
        question, hits(contents, intro), embedder=WordEmbedder()
    )
    assert texts(result)[0].startswith("Il registro dei volontari è"), render(result)
    # Asked what to write, the same sections answer as before.
    result = ExtractiveComposer(index).compose(
        "cosa si scrive nel registro dei volontari?", hits(contents, intro), embedder=WordEmbedder()
    )
    assert texts(result)[0].startswith("Nel registro"), render(result)


def lead_of(index: KeywordIndex, question: str, found: list[Chunk], **options: object) -> str:
    """The first sentence of the reply to `question` from `found`, in retrieval order."""
    composer = ExtractiveComposer(index, **options)  # type: ignore[arg-type]
    return texts(composer.compose(question, hits(*found), embedder=WordEmbedder()))[0]


def rule_moves_the_lead(
    tmp_path: Path,
    found: list[Chunk],
    asked: str,
    off: Mapping[str, object],
    leads: tuple[str, str],
) -> KeywordIndex:
    """Asked `asked`, the reply leads with `leads[0]` with the rule `off`, `leads[1]` with it."""
    index = KeywordIndex(tmp_path / "bm25")
    index.rebuild(found)
    options = {k: v for k, v in off.items() if k.endswith("_bar")}  # kept on both sides
    assert lead_of(index, asked, found, **off).startswith(leads[0]), "the case this test is for"
    assert lead_of(index, asked, found, **options).startswith(leads[1])
    return index


def test_a_specific_question_leads_with_its_section_not_the_documents_introduction(
    tmp_path: Path,
) -> None:
    """An Italian question repeats the document's title words ("associazione di promozione
    sociale"), which lifts the introduction, whose "heading" is that title; asked how many
    workers an APS may have, the section asking that leads, not the introduction."""
    title = "Associazioni di promozione sociale"
    defined = "L'associazione di promozione sociale è un ente per i soci."
    intro = chunk(0, "", [defined], "aps", title)
    limit = "I lavoratori della APS non superano la metà dei volontari."
    workers = chunk(
        1, "Quanti lavoratori può avere un'associazione di promozione?", [limit], "aps", title
    )
    asked = "quanti lavoratori può avere un'associazione di promozione sociale?"
    index = rule_moves_the_lead(
        tmp_path, [intro, workers], asked, {"intro_penalty": 0.0}, (defined, limit)
    )
    # Asked what an APS is, the introduction still defines it.
    what = "che cos'è un'associazione di promozione sociale?"
    assert lead_of(index, what, [workers, intro]).startswith(defined)


def test_a_reply_never_leads_with_a_sentence_leaning_on_one_it_does_not_show(
    tmp_path: Path,
) -> None:
    """The sentence sharing most of the question's words points back mid-clause ("questo
    impegno"): it may follow the sentence it leans on, never open the reply."""
    promise = "Chi riceve beni in dono si impegna a usarli per le attività statutarie."
    resale = "Rivendere i beni ricevuti in dono contraddice questo impegno verso il donatore."
    section = chunk(0, "Cosa si impegna a fare chi riceve beni in dono?", [promise, resale], "beni")
    asked = "possiamo rivendere i beni ricevuti in dono?"
    rule_moves_the_lead(tmp_path, [section], asked, {"lead_leans_back": False}, (resale, promise))


def test_it_depends_leads_any_question_its_heading_asks(tmp_path: Path) -> None:
    """ "Dipende…" is no yes or no: under a heading asking how the money arrives it answers a
    "come arrivano?" as well as an "arrivano subito?"."""
    depends = "Dipende dalla piattaforma: di solito i soldi arrivano con un bonifico sul conto."
    alfa = "La piattaforma Alfa versa i soldi della campagna ogni mese."
    section = chunk(0, "Come arrivano i soldi della campagna sul conto?", [depends, alfa], "soldi")
    asked = "la campagna su alfa è finita: come arrivano i soldi sul conto?"
    off = {"depends_leads": False, "heading_bar": 0.5, "yes_no_bar": 0.5}
    rule_moves_the_lead(tmp_path, [section], asked, off, (alfa, depends))


@pytest.mark.parametrize("greeting", ["", "ciao, "])
def test_real_reply_to_what_is_defines_it(assistant: Assistant, greeting: str) -> None:
    """A definition leads; a salutation in front changes nothing (it used to read as vague)."""
    reply = assistant.reply([], f"{greeting}cos'è il bilancio sociale?")
    assert reply.action is Action.ANSWER
    lead = reply.text.split("\n\n")[0]
    assert re.match(r"Il bilancio sociale è un documento", lead), reply.text


def test_real_reply_does_not_lead_with_another_headings_yes(assistant: Assistant) -> None:
    """The KB has a section that asks this very question (its lead is "No."): that one may lead;
    a "Sì, …" lifted from a section about another question may not."""
    reply = assistant.reply([], "Chiunque aiuta gratis un'associazione è un volontario?")
    assert reply.action is Action.ANSWER
    lead = reply.text.split("\n\n")[0]
    assert not (answers_yes_no(lead) and lead.lstrip().lower().startswith("sì")), reply.text
    assert re.search(r"solidariet|requisit|non basta", lead, re.IGNORECASE), reply.text


def test_warm_reads_every_section_once_and_replies_stay_the_same(tmp_path: Path) -> None:
    """The start-up warm-up (Services.warm_up) puts every section in the read cache; a reply
    composed after it finds them there and is the reply a cold composer gives."""
    question = "Entro quando va depositato il rendiconto al registro?"
    cold = composer(tmp_path / "cold").compose(question, hits(DEPOSIT, SIGNER, FOUNDERS))
    read_section.cache_clear()
    warmed = composer(tmp_path / "warm")
    sections = {(c.doc_id, c.heading) for c in CHUNKS}
    assert warmed.warm() == len(sections)
    assert read_section.cache_info().misses == len(sections)
    again = warmed.compose(question, hits(DEPOSIT, SIGNER, FOUNDERS))
    assert read_section.cache_info().misses == len(sections), "no section read twice"
    assert again == cold


def test_each_section_is_cited_with_the_source_its_sentences_name(tmp_path: Path) -> None:
    sources = (
        "https://example.org/guida-generale",
        "https://www.e-glossa.it/wiki/decreto_legislativo_del_2017_numero_117_art._48.aspx",
    )
    deposit = replace(DEPOSIT, sources=sources)
    intro = replace(
        chunk(5, "", ["Il registro raccoglie gli enti del Terzo settore di tutta Italia."]),
        sources=sources,
    )
    deposit = replace(
        deposit,
        text=deposit.text.replace("dell'esercizio.", "dell'esercizio (art. 48, comma 3)."),
    )
    result = composer(tmp_path, deposit, intro).compose(
        "Entro quando si deposita il rendiconto al registro?", hits(deposit, intro)
    )
    links = {c.chunk_id: c.link for c in result.citations}
    assert links[deposit.id] == sources[1], "the section names art. 48"
    assert links.get(intro.id, sources[0]) == sources[0], "nothing named: the first source"


def test_a_yes_no_reply_near_the_bar_leads_as_its_statement(tmp_path: Path) -> None:
    """Under a heading nearly as close as a "Sì, …" needs, the question may be the heading's
    turned round ("do they pay 60 euro?" under "is there a minimum?"): the reply's statement
    leads without its yes, which would answer the heading and mislead the asker."""
    heading = "Esiste un importo minimo sotto il quale l'ente non riceve nulla?"
    opening = "Sì, il 5 per mille non viene pagato sotto i 100 euro."
    section = chunk(0, heading, [opening, "L'elenco dei beneficiari esce ogni anno."], "cinque")
    index = KeywordIndex(tmp_path / "bm25")
    index.rebuild([section])
    question = "Un ente che ha diritto a 60 euro li riceve comunque?"
    embedder = FixedEmbedder({question: 1.0, heading: 0.9})

    def lead(**options: float) -> str:
        composer = ExtractiveComposer(index, **options)  # type: ignore[arg-type]
        return texts(composer.compose(question, hits(section), embedder=embedder))[0]

    assert lead(statement_bar=1.0).startswith("L'elenco"), "the case this test is for"
    assert lead().startswith("Il 5 per mille non viene pagato sotto i 100 euro")
    assert not answers_yes_no(lead()), "no yes that answers the heading instead"
    assert lead(yes_no_bar=0.89).startswith("Sì, il 5 per mille"), "above the yes/no bar"


def test_a_near_tie_headings_yes_or_no_follows_the_lead(tmp_path: Path) -> None:
    """Two headings ask nearly the same question in other words; the one that leads opens with
    a statement, the other with "No, …": that reply, which could have led, comes after it
    (as its statement alone when its heading is near the statement bar, not the yes/no bar)."""
    led = chunk(
        0,
        "Quale conto usa l'associazione per i soldi del comune?",
        [
            "Il conto dedicato riceve i pagamenti del comune con il codice del progetto.",
        ],
        "conto",
    )
    near = chunk(
        1,
        "Serve un conto nuovo per i soldi del comune?",
        [
            "No, va bene anche il conto che l'associazione usa già.",
        ],
        "conto",
    )
    index = KeywordIndex(tmp_path / "bm25")
    index.rebuild([led, near])
    question = "Dobbiamo aprire un conto apposta per il progetto con il comune?"
    embedder = FixedEmbedder({question: 1.0, led.heading: 0.95, near.heading: 0.93})

    def reply(**options: object) -> list[str]:
        composer = ExtractiveComposer(index, **options)  # type: ignore[arg-type]
        return texts(composer.compose(question, hits(led, near), embedder=embedder))

    assert not any(t.startswith("No, va bene") for t in reply(near_yes_no=False)), "the case"
    sentences = reply()
    assert sentences[0].startswith("Il conto dedicato")
    assert any(t.startswith("No, va bene anche il conto") for t in sentences)
    # Nearer the statement bar than the yes/no bar, the reply follows as its statement.
    embedder.cosines.update({led.heading: 0.92, near.heading: 0.9})
    sentences = reply()
    assert sentences[0].startswith("Il conto dedicato")
    assert any(t.startswith("Va bene anche il conto") for t in sentences), sentences
    assert not any(t.startswith("No,") for t in sentences)
