"""Resolve follow-ups ("e per le APS?", "entro quando?") against the previous question.

Heuristic (no LLM needed):
1. Only the last user question that got an answer or a clarifying question is used; a refused
   turn never leaks into the next one.
2. A message is a follow-up when it opens with a connective ("e", "ma", "invece", "anche",
   "and", "what about"…) or has at most three content words ("entro quando?", "serve il notaio?").
3. If the follow-up names a kind of entity (APS, ODV, impresa sociale…) and the previous question
   named another, the previous question is reused with the entity swapped; otherwise the
   follow-up is appended to the previous question. The previous reply's topic is returned too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sportello.answering.schemas import Turn
from sportello.knowledge.keyword_index import tokenize

_CONNECTIVE = re.compile(
    r"^\s*(?:e|ed|ma|però|invece|anche|pure|quindi|allora|e se|e nel caso|and|but|what about|"
    r"how about|also)\b",
    re.IGNORECASE,
)

# A salutation in front of a question carries no intent ("ciao, cos'è il bilancio sociale?"):
# left on, its weight in a short message reads as "vague" to the intent step.
_GREETING = re.compile(
    r"^\s*(?:(?:ciao|salve|buongiorno|buonasera|buondì|buondi|ehi|hey|hi|hello|good "
    r"(?:morning|afternoon|evening))\b(?:\s+(?:a\s+tutti|a\s+voi|ragazzi|sportello|everyone|there)\b)?"
    r"\s*[,!.:;-]*\s*)+",
    re.IGNORECASE,
)
_GREETING_KEEPS = 3  # words that must remain for the rest to stand as the question


def without_greeting(text: str) -> str:
    """`text` without the salutation it opens with, when a question of its own remains;
    a greeting alone ("ciao", "salve, avrei una domanda") is left as it is."""
    rest = _GREETING.sub("", text, count=1)
    if rest == text or len(rest.split()) < _GREETING_KEEPS:
        return text
    return rest


# Chat shorthand with one reading, spelled out before anything reads the message: left as is,
# "nn" and "x" are rare words to the lexical side (they count against the coverage of a
# question) and noise to the embedding. Texting conventions of Italian, not phrasings of any
# question; "5x1000" keeps its x (a letter or digit touches it).
_SHORTHAND = {
    "x": "per",
    "nn": "non",
    "cmq": "comunque",
    "xké": "perché",
    "xkè": "perché",
    "xke": "perché",
    "xché": "perché",
    "xchè": "perché",
    "xche": "perché",
    "xò": "però",
    "ke": "che",
    "ki": "chi",
    "sn": "sono",
    "anke": "anche",
    "qnd": "quando",
    "qdo": "quando",
    "mlt": "molto",
    "dv": "dove",
}
_SHORTHAND_RE = re.compile(
    r"(?<![\w'’])("
    + "|".join(sorted(map(re.escape, _SHORTHAND), key=len, reverse=True))
    + r")(?![\w'’])",
    re.IGNORECASE,
)


def spelled_out(text: str) -> str:
    """`text` with chat shorthand ("nn", "x", "cmq", "xké"…) written as the words it stands for."""
    return _SHORTHAND_RE.sub(lambda m: _SHORTHAND[m.group(1).lower()], text)


def as_asked(text: str) -> str:
    """The question as every step reads it: without its salutation, shorthand spelled out."""
    return spelled_out(without_greeting(text))


ENTITIES = [
    ("odv", r"\bodv\b|organizzazion\w* di volontariato"),
    ("aps", r"\baps\b|associazion\w* di promozione sociale"),
    ("impresa sociale", r"impres\w* social\w*"),
    ("cooperativa sociale", r"cooperativ\w* social\w*"),
    ("ente filantropico", r"ent\w* filantropic\w*"),
    ("rete associativa", r"ret\w* associativ\w*"),
    ("società di mutuo soccorso", r"mutuo soccorso"),
    ("fondazione", r"\bfondazion\w*"),
    ("onlus", r"\bonlus\b"),
    ("asd", r"\basd\b|associazion\w* sportiv\w* dilettantistic\w*"),
]
_ENTITY_RE = [(name, re.compile(p, re.IGNORECASE)) for name, p in ENTITIES]


@dataclass(frozen=True)
class Resolved:
    query: str
    follow_up: bool
    previous_topic: str | None = None


def _entity(text: str) -> tuple[str, re.Match[str]] | None:
    for name, pattern in _ENTITY_RE:
        match = pattern.search(text)
        if match:
            return name, match
    return None


def _previous_question(history: list[Turn]) -> tuple[str, str | None] | None:
    """The last user message whose reply was an answer, a clarification or an expert offered
    (the person may ask on about the same thing), with its topic; never past a refusal."""
    for index in range(len(history) - 1, -1, -1):
        turn = history[index]
        if turn.role != "assistant":
            continue
        if turn.action not in ("answer", "clarify", "escalate"):
            return None
        for earlier in range(index - 1, -1, -1):
            if history[earlier].role == "user":
                return as_asked(history[earlier].text), turn.topic
        return None
    return None


def resolve(text: str, history: list[Turn]) -> Resolved:
    previous = _previous_question(history)
    if previous is None:
        return Resolved(text, False)
    prev_text, prev_topic = previous
    content_words = tokenize(text)
    if not (_CONNECTIVE.search(text) or len(content_words) <= 3):
        return Resolved(text, False)
    new_entity, old_entity = _entity(text), _entity(prev_text)
    if new_entity and old_entity and new_entity[0] != old_entity[0]:
        _, match = old_entity
        swapped = prev_text[: match.start()] + new_entity[0] + prev_text[match.end() :]
        rest = _ENTITY_RE[[n for n, _ in ENTITIES].index(new_entity[0])][1].sub("", text)
        rest = _CONNECTIVE.sub("", rest).strip(" ?.!,")
        query = f"{swapped} {rest}".strip() if len(tokenize(rest)) > 1 else swapped
        return Resolved(query, True, prev_topic)
    cleaned = _CONNECTIVE.sub("", text).strip()
    return Resolved(f"{prev_text} {cleaned}", True, prev_topic)
