"""How a sentence leans on its neighbours: unresolved references, yes/no replies, enumerations.

The extractive composer lifts sentences out of their sections, and the knowledge-base test
checks that every section opens with a sentence that stands on its own: both use these rules,
so a sentence the composer would refuse to lead with is one the KB may not open a section with.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sportello.knowledge.folding import strip_accents

# Openings that point back at something said before: a sentence that starts with one of them
# cannot be read alone. By kind (the key says why); each comma-separated entry is matched as
# whole words at the start of the sentence, case- and accent-insensitively, with apostrophes
# normalised ("quest'ultimo"); an entry ending in an apostrophe matches any word it elides into.
REFERENCE_OPENERS: dict[str, str] = {
    "demonstratives and 'such' (Questi enti…, Tale limite…, Ciò significa…)": (
        "questo, questa, questi, queste, quest', quello, quella, quelli, quelle, quell', tale, "
        "tali, cio, il che, detto questo, suddetto, suddetta, suddetti, suddette, predetto, "
        "predetta, predetti, predette, siffatto"
    ),
    "sameness and 'the other(s)' (Lo stesso vale…, Gli altri…, Entrambi…)": (
        "lo stesso, la stessa, gli stessi, le stesse, stesso, stessa, medesimo, medesima, "
        "gli altri, le altre, l'altro, l'altra, altrimenti, entrambi, entrambe, ambedue, "
        "nessuno dei due, nessuna delle due"
    ),
    "pronouns as subject (Essi devono…, Ne fanno parte…, Vi rientrano…)": (
        "esso, essa, essi, esse, egli, costoro, ne, vi"
    ),
    "connectives that continue an argument (Inoltre…, Invece…, Quindi…, Anche…)": (
        "inoltre, anche, invece, pero, tuttavia, ma, e, ed, oppure, quindi, dunque, percio, "
        "pertanto, infatti, difatti, comunque, peraltro, oltretutto, anzi, poi, infine, allora, "
        "nemmeno, neanche, neppure, analogamente, similmente, parimenti, viceversa, "
        "al contrario, d'altra parte, d'altro canto, allo stesso modo, di conseguenza, "
        "ne consegue, ne deriva, in aggiunta, in alternativa, successivamente, dopodiche, "
        "nel frattempo, fino ad allora, da allora, a quel punto, a questo punto, per il resto, "
        "oltre a cio, oltre a questo, a parte questo, come detto, come visto, come sopra, "
        "come gia detto, di cui sopra"
    ),
    "examples of a rule stated before (Per esempio, …)": "per esempio, ad esempio, ad es, per es",
    "this case, this reason: stated in the sentence before (In questo caso…, Per questo…)": (
        "in questo caso, in questi casi, in tal caso, in tali casi, in entrambi i casi, "
        "in tutti gli altri casi, negli altri casi, in caso contrario, in tal senso, a tal fine, "
        "a tale scopo, a tal proposito, in proposito, al riguardo, per questo, "
        "per questa ragione, per questi motivi, per tale ragione, cosi"
    ),
    "enumeration items (Il primo rischio…, La seconda condizione…, L'ultimo…)": (
        "il primo, la prima, il secondo, la seconda, il terzo, la terza, "
        "il quarto, la quarta, il quinto, la quinta, il sesto, la sesta, il settimo, la settima, "
        "l'ottavo, l'ottava, il nono, la nona, il decimo, la decima, l'ultimo, l'ultima, "
        "in primo luogo, in secondo luogo, in terzo luogo, "
        "in ultimo luogo, da un lato, dall'altro, dall'altro lato"
    ),
}
_OPENERS = tuple(
    entry.strip() for entries in REFERENCE_OPENERS.values() for entry in entries.split(",")
)
# Legal names that begin like a reference but name a thing of their own.
_NOT_REFERENCES: tuple[str, ...] = (
    "altri enti del terzo settore",
    "gli altri enti del terzo settore",
    "quello che",
    "quella che",
    "quelli che",
    "quelle che",
)
_COUNT_WORDS = {
    "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "sette": 7, "otto": 8,
    "nove": 9, "dieci": 10,
}  # fmt: skip
_COUNT = "|".join(_COUNT_WORDS)  # "due|tre|…|dieci", for the patterns below
# Words that only point back ("suddetto", "medesimo"…), shared by both reference patterns.
_POINTERS = r"suddett\w*|predett\w*|medesim\w*|anzidett\w*|sopraindicat\w*|sopra indicat\w*"
# Words that, within the opening few words, make the subject a thing named before or the
# sentence a contrast with it: "Il numero di questi altri enti…", "Entro tale termine…",
# "Nello stesso anno…", "Il consenso serve invece…".
_NEAR_START = re.compile(
    rf"\b(?:quest[oaie]|quest'\w*|tal[ei]|{_POINTERS}|"
    r"(?<!\bun )(?<!\buno )(?<!\buna )stess[oaie]|"
    # "Per gli altri ETS…": others than the ones just named (not the legal category).
    r"(?:gli|le) altr[ie](?! enti del terzo settore)|"
    # A contrast after the subject ("Il consenso serve invece…") is with the sentence before.
    r"invece|tuttavia|pero|viceversa|"
    # A definite article and a count: things already counted ("I due limiti sono
    # alternativi", "Basta rispettare uno dei due limiti", "Le tre condizioni valgono…").
    rf"(?:i|gli|le|dei|degli|delle|ai|agli|alle|nei|negli|nelle|sui|sugli|sulle)\s+(?:{_COUNT}))\b"
)
_NEAR_START_WORDS = 5
# A conclusion or a reason drawn from the sentence before, anywhere in the opening clause
# ("Un ente iscritto a giugno chiede quindi l'accreditamento…", "Il termine è dunque…").
_CONCLUSION = re.compile(r"\b(?:quindi|dunque|pertanto|percio|infatti)\b")
_CONCLUSION_WORDS = 10
# A short opening clause, then a connective set off by commas: "Per le ODV, invece, …",
# "Nel 2025, inoltre, …" (not "…, quindi prima dell'evento chiedi…", which is resolved).
_CONNECTIVE_AFTER_OPENING = re.compile(
    r"^[^,;:]{1,40}[,;:]\s*(?:invece|tuttavia|pero|inoltre|quindi|dunque|pertanto|infatti|"
    r"comunque|peraltro|anzi|percio|altrimenti)\s*,"
)
# "Sì, …", "No: …", "Dipende…": the reply to a yes/no heading, meaningless under another question.
_YES_NO = re.compile(
    r"^(?:si|no|non sempre|non necessariamente|non per forza|dipende|certo|certamente|"
    r"esatto|esattamente|in genere si|in genere no|di solito si|di solito no|di norma si|"
    r"di norma no|in linea di massima|solo in parte|in parte|nella maggior parte dei casi)"
    r"(?=\s*[,.:;!—–-]|\s+(?:se|solo|purche|a meno|quando|ma|perche|"
    r"da|dal|dall|dalla|dallo|dai|dagli|dalle)\b|$)"
)
# One to three words, then the yes or no that closes the opening clause.
_QUALIFIED_YES_NO = re.compile(r"^(?:[a-z']+\s+){1,3}(?:si|no)(?=\s*[,.:;!—–-]|$)")
# Plural nouns that measure a quantity rather than announce items ("tre anni", "sette soci").
_QUANTITY_WORDS = """anni mesi giorni settimane ore minuti euro per mille associati soci persone
volontari lavoratori dipendenti membri consiglieri componenti fondatori enti regioni province
esercizi bilanci volte punti percentuali milioni mila terzi quinti decimi dei delle degli alle agli
dalle dagli nelle negli sulle sugli tra fra che le gli i e"""
_QUANTITIES = frozenset(_QUANTITY_WORDS.split())
_ANNOUNCED = re.compile(
    rf"\b({_COUNT}|[2-9])\s+"
    r"(?:(?:grandi|diverse|diversi|principali|possibili|nuove|nuovi|altre|altri)\s+)?"
    r"([a-z]+[ie])\b"
)
_LIST_INTRO = re.compile(r"\b(?:seguent[ie]|quest[ie]|sono queste|sono questi|ecco)\b")


# The knowledge base's sentences are a finite set read at every reply: the pure judgements on
# one sentence are kept (bounded), so a reply pays for the sentences it has not met before.
_SENTENCES = 1 << 16


@lru_cache(maxsize=_SENTENCES)
def normalise(text: str) -> str:
    """Lower case, no accents, straight apostrophes, no leading quotes or list markers."""
    text = strip_accents(text.replace("’", "'").replace("`", "'")).lower()
    text = re.sub(r"^[\s\"«“(\[*•-]+", "", text)
    return re.sub(r"^\d+[.)]\s+", "", text)


def _starts_with(text: str, phrase: str) -> bool:
    if not text.startswith(phrase):
        return False
    if phrase.endswith("'"):
        return True  # "quest'anno", "quell'obbligo"
    rest = text[len(phrase) :]
    return not rest or not (rest[0].isalnum() or rest[0] == "'")


@lru_cache(maxsize=_SENTENCES)
def opens_with_reference(sentence: str) -> bool:
    """Whether `sentence` starts by pointing back at something said before it.

    True for the openers in REFERENCE_OPENERS ("Questi…", "Tale…", "Inoltre…", "In questo
    caso…", "Anche…", "Il primo…") and for a demonstrative among the first few words ("Il numero
    di questi enti…", "Entro tale termine…"). Such a sentence may follow the sentence it refers
    to, never lead a reply or a section.
    """
    text = normalise(sentence)
    if re.match(r"^\W*(?:È|E['’]\s?)", sentence):
        text = "è" + text[1:]  # "È…" ("is") is not "E…" ("and")
    if any(text.startswith(name) for name in _NOT_REFERENCES):
        return False
    if any(_starts_with(text, opener) for opener in _OPENERS):
        return True
    if _CONNECTIVE_AFTER_OPENING.match(text):
        return True
    # Only the opening clause: "…, come questo documento" later in the sentence is resolved.
    opening = re.split(r"[,;:]", text, maxsplit=1)[0].split()
    return bool(
        _NEAR_START.search(" ".join(opening[:_NEAR_START_WORDS]))
        or _CONCLUSION.search(" ".join(opening[:_CONCLUSION_WORDS]))
    )


# A demonstrative anywhere in the opening clause, for a sentence that would lead a reply:
# "Rivendere i beni non corrisponde a questo impegno", "Per gli inserimenti la stessa delibera
# prevede…" lean on a sentence before them even when their first words do not. Times ("quest'anno")
# and "lo stesso / la stessa X" inside one sentence's own comparison are not references.
_DEMONSTRATIVE = re.compile(
    r"\b(?:quest[oaie](?!\s+(?:anno|mese|settimana|momento))|quest'(?!anno)\w+|tal[ei]|"
    rf"{_POINTERS}|"
    r"(?:della|dello|dalla|dallo|nella|nello|alla|allo|la|lo)\s+stess[oa](?!\s+(?:persona|"
    r"donazione|giorno|anno|ente|modo))|"
    r"invece(?!\s+(?:che|di)\b)|tuttavia)\b"
)


@lru_cache(maxsize=_SENTENCES)
def leans_back(sentence: str) -> bool:
    """Whether `sentence` points back at something said before it anywhere in its opening
    clause (a stricter reading than `opens_with_reference`, for the sentence a reply leads
    with: it has nothing before it)."""
    if opens_with_reference(sentence):
        return True
    opening = re.split(r"[,;:]", normalise(sentence), maxsplit=1)[0]
    return bool(_DEMONSTRATIVE.search(opening))


def answers_any_question(sentence: str) -> bool:
    """Whether a reply to a heading answers any question that heading asks, not only a yes/no
    one: "Dipende dalla piattaforma: di solito…" answers "come e quando arrivano i soldi?" as
    well as "arrivano subito?"."""
    return normalise(sentence).startswith("dipende")


@lru_cache(maxsize=_SENTENCES)
def answers_yes_no(sentence: str) -> bool:
    """Whether `sentence` is the reply to a yes/no question ("Sì, se…", "No.", "Dipende…"),
    also when a few words qualify the yes or no before its clause ends ("Di regola no.",
    "Online sì, salvo…", "È meglio di no.")."""
    text = normalise(sentence)
    return bool(_YES_NO.match(text) or _QUALIFIED_YES_NO.match(text))


# A bare "Sì, …" / "No, …" and what may follow it as a statement of its own: the knowledge base
# restates the heading after the yes or no ("No, l'accreditamento dell'art. 55 non è…"), so the
# rest says the same thing to a person who did not ask a yes/no question. Not when the rest is
# a condition or a contrast ("Sì, se…", "No, ma…"), which needs the yes or no to mean anything.
_BARE_REPLY = re.compile(r"^\W*(?:s[iì]|no)\s*[,:;]\s*(?=\S)", re.IGNORECASE)
_CONDITIONAL = re.compile(
    r"^(?:se|solo|soltanto|purche|ma|pero|perche|a meno|quando|salvo|tranne|eccetto|fuorche|"
    r"almeno|anche|neanche|nemmeno|non sempre|di solito|in genere|in generale|dipende|"
    r"a condizione|sempre che|sempre|mai|basta|e|o|ed|od)\b"
)


@lru_cache(maxsize=_SENTENCES)
def without_reply(sentence: str) -> str | None:
    """`sentence` without its bare "Sì," / "No," when what follows stands as a statement of
    its own ("No, un ETS non è obbligato a…" → "Un ETS non è obbligato a…"); None otherwise."""
    found = _BARE_REPLY.match(sentence)
    if found is None:
        return None
    rest = sentence[found.end() :]
    if _CONDITIONAL.match(normalise(rest)) or opens_with_reference(rest):
        return None
    return rest[0].upper() + rest[1:]


# Words that open a question no "yes" or "no" answers ("che differenza c'è…", "How do we…"),
# and the prepositions that may come before them ("entro quando", "in che modo", "by when");
# an amount ("quanto", "quanti"…) asks for content wherever it stands (asks_yes_no).
_WH_WORDS = frozenset(
    [
        "che",
        "cosa",
        "cos",
        "come",
        "com",
        "quando",
        "quand",
        "quale",
        "quali",
        "qual",
        "dove",
        "dov",
        "chi",
        "perche",
        "what",
        "how",
        "which",
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "why",
    ]
)
_WH_PREPOSITIONS = frozenset(
    [
        "a",
        "ad",
        "al",
        "di",
        "da",
        "dal",
        "in",
        "nel",
        "per",
        "entro",
        "con",
        "su",
        "fino",
        "tra",
        "fra",
        "by",
        "for",
        "from",
        "to",
        "until",
        "with",
    ]
)
_FILLERS = frozenset(
    [
        "ma",
        "e",
        "ed",
        "allora",
        "quindi",
        "pero",
        "comunque",
        "ok",
        "ciao",
        "salve",
        "and",
        "but",
        "so",
        "then",
        # A subject put first ("loro che vantaggio hanno?", "noi cosa dobbiamo fare?"): the
        # question word after it still asks for content; "noi possiamo farlo?" stays yes/no.
        "io",
        "tu",
        "lui",
        "lei",
        "noi",
        "voi",
        "loro",
    ]
)


def asks_yes_no(question: str) -> bool:
    """Whether a "Sì, …" or "No, …" can answer `question`: one of its questions ends in a
    clause that is not a wh-question. A last clause that opens with a question word ("che
    differenza c'è", "come si fa", "what are…"), or holds one after a preposition ("il 5x1000
    a chi va", "entro quando") or an amount ("quanto costa"), asks for content; "si può?",
    "serve la PEC?", "can we…?" can be answered yes or no."""
    text = normalise(question)
    for sentence in re.findall(r"[^.!?]+\?", text) or [text]:
        clauses = [c for c in re.split(r"[,;:()]", sentence) if re.search(r"[a-z]", c)]
        if not clauses:
            continue
        words = re.findall(r"[a-z]+", clauses[-1])
        while words and words[0] in _FILLERS:
            words = words[1:]
        pairs = zip(words, words[1:], strict=False)
        content = bool(words) and (
            words[0] in _WH_WORDS
            or any(a in _WH_PREPOSITIONS and b in _WH_WORDS for a, b in pairs)
            or any(w.startswith("quant") for w in words)
        )
        if not content:
            return True
    return False


# What a question for a definition opens with: "cos'è", "che cosa sono", "cosa si intende per",
# "cosa significa", "what is a", "what does … mean" ("what is the …" asks for a deadline or
# a limit as often as for a definition: not read as one); a participle after "cos'è"
# ("cos'è cambiato", "cosa è successo") asks about an event instead.
_DEFINITION = re.compile(
    r"^(?:(?:che )?cos(?:a)? (?:e|sono|significa|vuol dire|si intende)|"
    r"cosa (?:e|sono) (?:un|una|uno|il|lo|la|i|gli|le|l)\b|"
    r"what (?:is|s) an?|what does \w+(?: \w+){0,4} mean|what do (?:you|we) mean)\b(?! \w+(?:at|it|ut)[oiae]\b| success)"
)


def asks_definition(question: str) -> bool:
    """Whether `question` asks what something is: a clause of its last question opens
    (after fillers such as "ciao", "ma") with "cos'è", "che cosa sono", "cosa si intende per",
    "what is"… The answer is a definition, which a document's introduction or a "Che cos'è…?"
    section gives, not a neighbouring section that mentions the same subject."""
    text = normalise(question).replace("'", " ")
    sentences = re.findall(r"[^.!?]+\?", text) or [text]
    for clause in re.split(r"[,;:()]", sentences[-1]):
        words = re.findall(r"[a-z]+", clause)
        while words and words[0] in _FILLERS:
            words = words[1:]
        opening = " ".join(words)
        found = _DEFINITION.match(opening)
        # The thing defined follows: "cos'è e a cosa serve?" asks about something said before.
        rest = opening[found.end() :].split() if found else []
        if found and found.group(0).endswith("mean") and found.group(0).split()[2] != "it":
            return True  # "what does ETS mean": the thing defined sits inside
        if rest and rest[0] not in _FILLERS and rest[0] not in _WH_WORDS and rest[0] != "o":
            return True
    return False


# A sentence that closes on the count of what follows ("Le forme sono due.", "I casi sono tre:"):
# its items are the sentences after it, as after a colon.
_COUNT_CLOSES = re.compile(rf"\b(?:sono|ce ne sono)\s+({_COUNT}|[2-9])\s*[.:]?\s*$")


def announced_count(sentence: str) -> int | None:
    """How many items `sentence` announces ("a tre condizioni", "i 4 casi", "le forme sono
    due."), or None."""
    text = normalise(sentence)
    bare = re.search(r"\b(due|tre|quattro|cinque|sei|sette|otto|nove|dieci|[2-9])\s*:\s*$", text)
    bare = bare or _COUNT_CLOSES.search(text)
    if bare:
        number = bare.group(1)
        return int(number) if number.isdigit() else _COUNT_WORDS[number]
    for match in _ANNOUNCED.finditer(text):
        number, noun = match.groups()
        if noun in _QUANTITIES:
            continue
        return int(number) if number.isdigit() else _COUNT_WORDS[number]
    return None


def _list_item_shape(sentence: str) -> bool:
    """A list item as our splitter leaves it: lower-case start or a ';' end."""
    stripped = sentence.strip()
    return bool(stripped) and (stripped[0].islower() or stripped.endswith(";"))


def _opening_words(sentence: str) -> tuple[str, ...]:
    return tuple(normalise(sentence).replace("'", "' ").split()[:2])


_ORDINAL = re.compile(
    r"^(?:(?:il|la|l') ?(?:prim|second|terz|quart|quint|sest|settim|ottav|non|decim|ultim)[oa]|"
    r"in (?:primo|secondo|terzo|ultimo) luogo|infine|per prim[oa]|innanzitutto|anzitutto)\b"
)


def _is_ordinal(sentence: str) -> bool:
    return bool(_ORDINAL.match(normalise(sentence)))


def enumeration_end(sentences: list[str], start: int) -> int | None:
    """If `sentences[start]` announces items, the index just past its last item, else None.

    An announcement ends with a colon or announces a count ("a tre condizioni", "sono
    quattro:"), or is followed by ordinals ("Il primo rischio…"). Items are recognised by
    ordinals ("Il primo…", "La seconda…", with the sentences that lean on each), by the count,
    by what the splitter leaves of a list (lower-case starts, ';' ends) or by a shared opening
    ("L'assemblea nomina…", "L'assemblea approva…"); a colon whose items cannot be told apart
    from prose runs to the end of the section. The caller keeps the span whole or drops it.
    """
    rest = sentences[start + 1 :]
    if not rest:
        return None
    colon = normalise(sentences[start]).rstrip().endswith(":") or bool(
        _COUNT_CLOSES.search(normalise(sentences[start]))
    )
    count = announced_count(sentences[start])
    if _is_ordinal(rest[0]) and not _is_ordinal(sentences[start]):
        end = start + 1
        while end < len(sentences) and (
            _is_ordinal(sentences[end]) or opens_with_reference(sentences[end])
        ):
            if count is not None and _is_ordinal(sentences[end]):
                if count == 0:
                    break
                count -= 1
            end += 1
        return end
    if not colon:
        return None
    if count is not None:
        return min(len(sentences), start + 1 + count)
    shape = _opening_words(rest[0])
    for offset, item in enumerate(rest[1:], 1):
        if _list_item_shape(item) or (len(shape) == 2 and _opening_words(item) == shape):
            continue
        if rest[offset - 1].rstrip().endswith(";"):
            return start + 2 + offset  # the last item of a ';' list ends with '.'
        if _list_item_shape(rest[0]) or offset > 1:
            return start + 1 + offset  # the items had a shape, and this sentence has not
        break
    return len(sentences)


def enumerations(sentences: list[str]) -> list[tuple[int, int]]:
    """The (start, end) spans of the enumerations in a section's sentences, in order."""
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(sentences):
        end = enumeration_end(sentences, index)
        if end is not None and end > index + 1:
            spans.append((index, end))
            index = end
        else:
            index += 1
    return spans
