"""Character folding as `str.translate` tables, each character's fate worked out once.

Folding text one character at a time in Python (`"".join(c for c in text if …)`) was most of
what tokenising and the sentence checks cost; a table filled on first sight of each character
does the same in one C-level pass.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

Fate = int | str | None  # what str.translate does with a character: keep/replace, or drop
_REMEMBERED = 1 << 16  # characters kept per table: a text of rare characters adds no more


class CharTable(dict[int, Fate]):
    """A translation table whose entries `rule` computes for each character when first met."""

    def __init__(self, rule: Callable[[str], Fate]) -> None:
        super().__init__()
        self.rule = rule

    def __missing__(self, code: int) -> Fate:
        fate = self.rule(chr(code))
        if len(self) < _REMEMBERED:
            self[code] = fate
        return fate


def _drop_combining(char: str) -> Fate:
    return None if unicodedata.combining(char) else ord(char)


_NO_COMBINING = CharTable(_drop_combining)


def strip_accents(text: str) -> str:
    """NFKD without the combining marks ("è" → "e"); ASCII text is returned as it is."""
    if text.isascii():  # NFKD leaves ASCII alone and ASCII has no combining marks
        return text
    return unicodedata.normalize("NFKD", text).translate(_NO_COMBINING)
