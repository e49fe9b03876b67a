"""Sentences of a document that speak to the assistant ("ignora le istruzioni…") are not content.

A document may carry a hidden instruction for whoever reads it (an uploaded file, a pasted web
page). Retrieval may still find its chunk, but such a sentence is never repeated by the
extractive composer, never offered as a suggested question and never passed to a model.

The patterns aim at words addressed to an assistant, not at the subject matter: "le nuove
regole dell'art. 79" is content, "ignora le regole precedenti" is not. The whole curated
knowledge base passes without a sentence flagged (tests/trust/test_injection.py checks it).
"""

from __future__ import annotations

import re
from functools import lru_cache

from sportello.answering.guards import normalise
from sportello.knowledge.sentences import split_sentences

_WHO = r"(?:utente|utenti|qualcuno|volontari[oa]?|persona|user|someone|anyone|people)"
_ASKS = r"(?:chiede|chiedono|domanda|domandano|scrive|scrivono|asks?|writes?|wants to know)"
_SAY = r"(?:rispondi|rispondete|rispondigli|di'|dì|dici|afferma|answer|reply|respond|say|tell)"
INSTRUCTION = re.compile(
    "|".join(
        f"(?:{p})"
        for p in [
            # override the rules
            r"\b(?:ignora|ignorate|ignore|disregard|dimentica|dimenticate|forget|scorda|"
            r"trascura)\s+(?:\w+\s+){0,4}(?:istruzion|regol|indicazion|instruction|rule|prompt|"
            r"vincol|guideline|direttiv)",
            r"(?:nuove|new|ulteriori|updated)\s+(?:istruzioni|instructions)\s*:",
            # speak about the assistant's own set-up
            r"system\s*(?:prompt|message|override)|prompt\s+di\s+sistema|messaggio\s+di\s+sistema|"
            r"istruzioni\s+di\s+sistema|<\s*/?\s*(?:system|assistant|instructions?)\s*>|"
            r"\[\s*(?:system|inst)\s*\]|#{2,}\s*(?:system|istruzioni)",
            r"(?:rivela|mostra|stampa|ripeti|reveal|print|show|repeat|leak)\s+(?:\w+\s+){0,3}"
            r"(?:tue|tuo|your)\s+(?:\w+\s+)?(?:istruzion|prompt|configurazion|instruction|regole)",
            # change its role
            r"\b(?:(?:ora|adesso|da ora in poi|d'ora in poi|da adesso)\s+sei|sei\s+(?:ora|adesso)\s|"
            r"comportati\s+come|agisci\s+come|fingi\s+di|fai\s+finta\s+di|you\s+are\s+now|"
            r"act\s+as\s+(?:an?\s+)?(?:\w+\s+)?(?:assistant|ai|bot|model)|pretend\s+to\s+be|"
            r"from\s+now\s+on)\b",
            r"\bjailbreak|\bdan mode|developer mode|modalit[aà] (?:sviluppatore|sviluppo|admin|debug|"
            r"senza filtri)",
            # tell it what to answer
            r"\b(?:assistente|assistant|chatbot|bot|intelligenza artificiale|language model|"
            r"modello linguistico|llm)\b[^.]{0,60}\b(?:devi|deve|dovrai|must|should|shall|"
            r"rispondi|answer|reply|say)\b",
            rf"\b(?:se|quando|qualora|if|when|whenever)\s+(?:\w+\s+){{0,2}}{_WHO}\b[^.]{{0,40}}"
            rf"\b{_ASKS}\b[^.]{{0,80}}\b{_SAY}\b",
            r"\b(?:rispondi|rispondete|answer|reply|respond|say)\s+(?:sempre|solo|soltanto|"
            r"unicamente|always|only)\b|\balways\s+(?:answer|reply|say|respond)\b",
            r"(?:non|never|don't|do not)\s+(?:citare|cite|mention)\w*\s+(?:mai\s+)?(?:le\s+)?"
            r"(?:fonti|sources)",
            # act for the person without asking them
            r"\b(?:prenota|cancella|annulla|conferma|book|cancel|confirm|delete)\w*\s+[^.]{0,60}"
            r"(?:senza\s+(?:chiedere|conferma|domandare)|automaticamente|per conto|without\s+"
            r"(?:asking|confirmation)|automatically|on (?:their|his|her) behalf)",
        ]
    ),
    re.IGNORECASE,
)


_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")


@lru_cache(maxsize=1 << 16)  # a pure judgement on a KB sentence, met again at many replies
def is_instruction(sentence: str) -> bool:
    """Whether a sentence of a document gives orders to the assistant reading it."""
    return bool(INSTRUCTION.search(normalise(sentence)))


def strip_instructions(text: str) -> str:
    """The text without its instruction-like sentences (line structure kept)."""
    if not INSTRUCTION.search(normalise(text)):
        return text
    lines = []
    for line in text.splitlines():
        kept = [s for s in split_sentences(line) if not is_instruction(s)]
        if kept:
            bullet = _BULLET.match(line)
            lines.append((bullet.group(0) if bullet else "") + " ".join(kept))
        elif not line.strip():
            lines.append("")
    return "\n".join(lines)
