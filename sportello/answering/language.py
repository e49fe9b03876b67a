"""Tell English from Italian with a stop-word count and, for short messages, how words end."""

from __future__ import annotations

import re

_EN = {
    "the",
    "is",
    "are",
    "what",
    "how",
    "can",
    "we",
    "our",
    "do",
    "does",
    "which",
    "who",
    "when",
    "where",
    "why",
    "i",
    "you",
    "my",
    "to",
    "of",
    "for",
    "and",
    "with",
    "an",
    "it",
    "should",
    "must",
    "need",
    "have",
    "has",
    "there",
    "about",
    "please",
    "this",
    "that",
    "would",
    "could",
    "will",
    "be",
    "if",
    "in",
    "on",
    "tell",
    "me",
    "any",
    "register",
}
_IT = {
    "il",
    "lo",
    "la",
    "gli",
    "le",
    "di",
    "che",
    "è",
    "e",
    "per",
    "un",
    "una",
    "come",
    "cosa",
    "quali",
    "quale",
    "sono",
    "del",
    "della",
    "dei",
    "delle",
    "al",
    "alla",
    "non",
    "si",
    "ci",
    "mi",
    "ho",
    "abbiamo",
    "nostra",
    "nostro",
    "possiamo",
    "dobbiamo",
    "entro",
    "quando",
    "chi",
    "dove",
    "perché",
    "anche",
    "ma",
    "se",
    "nel",
    "nella",
    "con",
    "da",
    "posso",
    "devo",
    "vorrei",
    "serve",
    "servono",
    "qual",
    "associazione",
    "quanto",
}
_WORD = re.compile(r"[a-zàèéìòù']+")
_VOWELS = frozenset("aeiouàèéìòù")


def detect_language(text: str) -> str:
    """'en' when the text reads as English, else 'it' (the default audience).

    Two English stop-words ahead of the Italian ones decide. A short question has fewer:
    "Are donations from companies deductible?" has one. Then, if English still leads, the
    words' endings decide: most Italian words end in a vowel, most English ones do not. With
    no English stop-word at all the text stays Italian, so an Italian message made of English
    loanwords ("crowdfunding reward o donation?") is not read as English."""
    words = _WORD.findall(text.lower())
    english = sum(w in _EN for w in words)
    italian = sum(w in _IT for w in words)
    if english >= 2 and english > italian:
        return "en"
    if english <= italian:
        return "it"
    longer = [w for w in words if len(w) >= 3]
    vowel_endings = sum(w[-1] in _VOWELS for w in longer)
    return "en" if vowel_endings < 0.5 * len(longer) else "it"
