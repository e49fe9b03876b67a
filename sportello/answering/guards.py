"""Rules that run before the intent step: empty, too long, injection markers, abuse, requests
for other people's data.

These are what rules do best: markers that are unambiguous as strings (a system-prompt tag, an
insult, "dammi i dati di un altro utente"). Everything that needs the meaning of the whole
question (off-topic, wrongdoing, wants a person, personal case, vague) is decided by the intent
examples (sportello.answering.intents) and retrieval evidence, never by keyword lists here.
Each guard is a list of patterns over a normalised text (lower case, accents kept, spacing
folded), in Italian and English. A match refuses politely; nothing here raises.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sportello.knowledge.folding import CharTable, Fate


@dataclass(frozen=True)
class Verdict:
    reason: str  # empty | too_long | injection | abuse | unlawful (other people's data)
    message_key: str
    values: dict[str, object]


def _compile(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


INJECTION = _compile(
    [
        r"\bignor\w*\s+(?:(?:tutte|tutti|le|gli|i|ogni|qualsiasi|all|the|any|your|tue|previous|"
        r"prior|above|precedenti|sopra)\s+){0,3}(?:istruzion|regol|indicazion|instruction|rule|"
        r"prompt|vincol)",
        r"\b(?:dimentica|forget|disregard|scorda)\w*\s+(?:\w+\s+){0,4}(?:istruzion|regol|instruction|"
        r"rule|prompt|detto|said)",
        r"system[\s_-]*(?:prompt|override|message)|prompt\s+di\s+sistema|messaggio\s+di\s+sistema|"
        r"(?:tue|your)\s+istruzioni\s+interne|istruzioni\s+interne\s+complete|hidden\s+instructions",
        r"(?:nuove|new)\s+(?:istruzioni|instructions|rules|regole)",
        r"(?:rivela|mostra|mostrami|stampa|ripeti|dimmi|scrivi|print|reveal|show|repeat|tell me|"
        r"output|leak)\s+(?:\w+\s+){0,4}(?:istruzion|prompt|configurazion|instruction|"
        r"regole interne|system)",
        r"\b(?:(?:ora|adesso|da ora|d'ora in poi|da ora in poi|da adesso|d'ora in avanti)\s+"
        r"(?:tu\s+)?sei|sei\s+(?:ora|adesso)|"
        r"comportati\s+come|agisci\s+come|fingi\s+di|fai\s+finta\s+di|immagina\s+di\s+essere|"
        r"you\s+are\s+now|act\s+as|pretend|roleplay|from\s+now\s+on\s+you)\b",
        r"\bjailbreak|\bdan mode|developer mode|modalit[aà] (?:sviluppatore|sviluppo|admin|debug|"
        r"senza filtri)|\bsudo\b|\bprompt injection",
        r"(?:non|never|don't|do not)\s+(?:citare|citar|cite|mention)\w*\s+(?:mai\s+)?(?:le\s+)?"
        r"(?:fonti|sources)",
        r"rispondi\s+sempre\s+che|always\s+(?:answer|reply|say)\s+that",
        # A standing order about every later reply ("from now on add the line …").
        r"(?:from now on|from here on|d'ora in poi|da ora in poi|da adesso in poi|d'ora in avanti)"
        r",?\s+(?:please\s+|per favore\s+)?(?:always\s+|sempre\s+)?(?:add|include|append|insert|"
        r"put|write|end|start|sign|aggiungi|includi|inserisci|metti|scrivi|termina|inizia|firma)\b",
        r"(?:(?:at the end of|in)\s+(?:every|each|all)(?:\s+of)?\s+(?:your\s+)?"
        r"(?:answers?|repl(?:y|ies)|responses?)|(?:alla fine di|in)\s+ogni\s+(?:tua\s+)?risposta)"
        r",?\s+(?:please\s+)?(?:add|include|append|insert|put|write|aggiungi|includi|inserisci|"
        r"metti|scrivi)\b",
        r"(?:sono|i am|i'm)\s+(?:l'|il |un |the |an? )?(?:amministrator|admin|sviluppator|developer|"
        r"creator|creatore|programmator)\w*.{0,60}(?:autorizz|permess|accesso|access|mostra|show|"
        r"disattiva|disable|sblocca|unlock|override)",
        r"<\s*/?\s*(?:system|assistant|instructions?)\s*>|\[\s*(?:system|inst)\s*\]|#{3,}\s*system",
        r"(?:disattiva|disable|bypass|aggira)\w*\s+(?:\w+\s+){0,3}(?:filtr|guard|controll|safety|"
        r"restriction|restrizion|regol)",
    ]
)

ABUSE = _compile(
    [
        r"\b(?:vaffanculo|fanculo|stronz\w*|coglion\w*|cazz\w*|merd\w*|idiot\w*|imbecill\w*|"
        r"deficient\w*|cretin\w*|fuck\w*|shit\w*|bitch\w*|asshole|stupid bot|bot stupido|"
        r"ti odio|i hate you|crepa|muori)\b",
    ]
)

# Asks for other people's data or conversations: a privacy rule, not a judgement of intent.
UNLAWFUL = _compile(
    [
        r"(?:dammi|dimmi|mostrami|give me|show me)\s+(?:\w+\s+){0,4}(?:dati|numero|email|indirizzo|"
        r"telefono|conversazion|messaggi|data|phone|address)\s+(?:\w+\s+){0,3}(?:di altr|"
        r"degli altri|di un altro|di un'altra|dell'utente|other users?|another user|someone else)",
    ]
)


# Letters of other scripts that look Latin ("іgnora" with a Cyrillic і): folded for matching.
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁɡѵԝаАЕОРСХІЈЅΑΒΕΖΗΙΚΜΝΟΡΤΥΧνοαι",
    "aeopcyxijsdgvwaAEOPCXIJSABEZHIKMNOPTYXvoai",
)


def _fold(char: str) -> Fate:
    """One character after NFKC: a format character dropped, a look-alike made Latin, another
    control made a space (line breaks and tabs kept)."""
    if unicodedata.category(char) == "Cf":
        return None
    code = _LOOKALIKES.get(ord(char), ord(char))
    return code if chr(code).isprintable() or chr(code) in "\n\t" else " "


_FOLD = CharTable(_fold)
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The text as the guards read it: compatibility forms folded (full-width letters), format
    characters dropped (a zero-width space inside "ig\u200bnora" must not hide the word),
    look-alike letters of other scripts made Latin, other controls and spacing folded."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).translate(_FOLD)).strip()


def check(text: str, max_chars: int) -> Verdict | None:
    """The first guard that refuses `text`, or None when it may go on to retrieval."""
    clean = normalise(text)
    if not clean or not any(c.isalnum() for c in clean):
        return Verdict("empty", "refuse_empty", {})
    if len(text) > max_chars:
        return Verdict("too_long", "refuse_too_long", {"length": len(text), "limit": max_chars})
    if INJECTION.search(clean):
        return Verdict("injection", "refuse_injection", {})
    if ABUSE.search(clean):
        return Verdict("abuse", "refuse_abuse", {})
    if UNLAWFUL.search(clean):
        return Verdict("unlawful", "refuse_unlawful", {})
    return None
