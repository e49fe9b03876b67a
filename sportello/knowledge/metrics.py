"""Retrieval quality measures on questions with expected-fact regexes (bench, tests).

Plain recall@k rewards whoever returns the biggest chunks: five long chunks hold more facts than
five short ones. Budget-normalised recall reads the ranking the way a composer does, from the
top, for a fixed amount of text: the ranked chunks' texts are joined in rank order and cut at
`budget` characters, and a question counts when every expected fact is in that prefix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

BUDGETS = (1500, 3000, 6000)
_SEPARATOR = "\n\n"


def facts_in(facts: Sequence[str], text: str) -> bool:
    """Whether every regex of `facts` matches `text` (case-insensitive); False for no facts."""
    return bool(facts) and all(re.search(f, text, re.IGNORECASE) for f in facts)


def budget_text(texts: Sequence[str], budget: int) -> str:
    """The ranked texts joined in rank order, cut at `budget` characters."""
    return _SEPARATOR.join(texts)[:budget]


def budget_recall(facts: Sequence[str], texts: Sequence[str], budget: int) -> bool:
    """Every expected fact within the first `budget` characters of the ranked texts."""
    return facts_in(facts, budget_text(texts, budget))


def recall_at(facts: Sequence[str], texts: Sequence[str], k: int) -> bool:
    """Every expected fact somewhere in the first `k` texts taken together."""
    return facts_in(facts, _SEPARATOR.join(texts[:k]))


def reciprocal_rank(facts: Sequence[str], texts: Sequence[str]) -> float:
    """1 / rank of the first text that matches any expected fact; 0 when none does."""
    for rank, text in enumerate(texts, 1):
        if any(re.search(f, text, re.IGNORECASE) for f in facts):
            return 1.0 / rank
    return 0.0


def ranking_quality(
    items: Sequence[tuple[Sequence[str], Sequence[str]]],
    budgets: Sequence[int] = BUDGETS,
    k: int = 5,
) -> dict[str, float]:
    """Mean budget recall per budget, recall@k and MRR over (facts, ranked texts) pairs."""
    n = len(items)
    if not n:
        return {}
    out = {f"recall_{b}c": sum(budget_recall(f, t, b) for f, t in items) / n for b in budgets}
    out[f"recall{k}"] = sum(recall_at(f, t, k) for f, t in items) / n
    out["mrr"] = sum(reciprocal_rank(f, t) for f, t in items) / n
    return out
