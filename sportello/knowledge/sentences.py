"""Italian-aware sentence splitting: legal abbreviations ("art.", "D.Lgs.") end no sentence."""

from __future__ import annotations

import re

# Tokens that end with a dot without ending the sentence; compared lower-case, dot stripped.
_ABBREVIATIONS = frozenset(
    [
        "art",
        "artt",
        "c",
        "co",
        "n",
        "nn",
        "lett",
        "d.lgs",
        "dlgs",
        "d.l",
        "d.m",
        "dm",
        "d.p.r",
        "dpr",
        "l",
        "reg",
        "es",
        "ecc",
        "pag",
        "pagg",
        "sig",
        "sigg",
        "dott",
        "avv",
        "prof",
        "cfr",
        "all",
        "cod",
        "civ",
        "cost",
        "s.p.a",
        "s.r.l",
        "srl",
        "spa",
        "tab",
        "p",
        "pp",
        "vol",
        "cap",
        "ss",
        "segg",
        "min",
        "max",
        "ca",
        "n.b",
        "g.u",
        "gu",
        "u.e",
        "ue",
        "d.d",
        "dd",
        "d.p.c.m",
        "dpcm",
        "circ",
        "del",
        "sent",
        "ord",
        "t.u",
        "tuir",
        "cass",
        "cons",
        "st",
        "rev",
        "ris",
    ]
)
_CANDIDATE = re.compile(r"(?<=[.!?…])[\"»”)]*\s+(?=[\"«“(\[]?[A-ZÀ-ÖØ-Þ0-9])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")


def _ends_with_abbreviation(piece: str) -> bool:
    match = re.search(r"(\S+)\.$", piece.rstrip('"»”)'))
    if not match:
        return False
    token = re.split(r"['’]", match.group(1).lower().lstrip('(«"'))[-1]
    return (
        token in _ABBREVIATIONS or len(token) == 1 or bool(re.fullmatch(r"[a-z]\.[a-z.]*", token))
    )


def split_sentences(text: str) -> list[str]:
    """Split a paragraph-structured text into sentences; each list item is its own sentence."""
    sentences: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*+•]|\d+[.)])\s)", text):
        block = " ".join(line.strip() for line in block.strip().splitlines())
        if not block:
            continue
        block = _LIST_ITEM.sub("", block)
        pieces = [p for p in _CANDIDATE.split(block) if p.strip()]
        merged: list[str] = []
        for piece in pieces:
            if merged and _ends_with_abbreviation(merged[-1]):
                merged[-1] = f"{merged[-1]} {piece.strip()}"
            else:
                merged.append(piece.strip())
        sentences.extend(merged)
    return sentences
