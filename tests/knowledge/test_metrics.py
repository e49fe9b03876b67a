"""Budget-normalised recall and the other ranking measures, on made-up chunks."""

from __future__ import annotations

import pytest

from sportello.knowledge.metrics import (
    budget_recall,
    budget_text,
    facts_in,
    ranking_quality,
    recall_at,
    reciprocal_rank,
)

FILLER = "Testo che non dice nulla di utile. " * 40  # 1,400 characters
SHORT_RIGHT = "Il termine è di 180 giorni dalla chiusura dell'esercizio."
LONG_WITH_FACT_LATE = FILLER + "Alla fine: il termine è di 180 giorni."
FACTS = [r"(180|centottanta) giorni"]


def test_budget_text_joins_in_rank_order_and_cuts() -> None:
    assert budget_text(["abc", "def"], 5) == "abc\n\n"
    assert budget_text(["abc", "def"], 100) == "abc\n\ndef"


def test_fact_inside_the_budget_counts() -> None:
    assert budget_recall(FACTS, [SHORT_RIGHT, FILLER], 1500)


def test_fact_past_the_budget_does_not_count() -> None:
    # A big first chunk pushes the fact beyond 1,500 characters; 3,000 reach it.
    ranked = [LONG_WITH_FACT_LATE]
    assert not budget_recall(FACTS, ranked, 1000)
    assert budget_recall(FACTS, ranked, 1500)
    ranked = [FILLER, FILLER, SHORT_RIGHT]
    assert not budget_recall(FACTS, ranked, 1500)
    assert budget_recall(FACTS, ranked, 3000)


def test_every_fact_is_needed_and_matching_ignores_case() -> None:
    facts = [r"180 giorni", r"\bRUNTS\b"]
    assert not budget_recall(facts, [SHORT_RIGHT], 1500)
    assert budget_recall(facts, [SHORT_RIGHT, "deposito al runts"], 1500)
    assert not facts_in([], "qualsiasi testo")


def test_recall_at_k_rewards_big_chunks_where_budget_recall_does_not() -> None:
    big = [FILLER + FILLER + SHORT_RIGHT]  # the fact after 2,800 characters
    small = [FILLER[:200], SHORT_RIGHT]
    assert recall_at(FACTS, big, 5) and recall_at(FACTS, small, 5)
    assert not budget_recall(FACTS, big, 1500)
    assert budget_recall(FACTS, small, 1500)


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(FACTS, [FILLER, SHORT_RIGHT]) == 0.5
    assert reciprocal_rank(FACTS, [FILLER]) == 0.0


def test_ranking_quality_averages_over_questions() -> None:
    items = [(FACTS, [SHORT_RIGHT]), (FACTS, [FILLER, FILLER, SHORT_RIGHT])]
    quality = ranking_quality(items, budgets=(1500, 3000))
    assert quality["recall_1500c"] == pytest.approx(0.5)
    assert quality["recall_3000c"] == pytest.approx(1.0)
    assert quality["recall5"] == pytest.approx(1.0)
    assert quality["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    assert ranking_quality([]) == {}
