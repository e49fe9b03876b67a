"""The calibration helpers of bench/intents.py (pure logic, synthetic measurements)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.intents import Case, auc, english_floor
from sportello.config import Settings


def case(id_: str, expected: str, dense: float, lexical: float = 0.0) -> Case:
    """An English question measured with this best dense similarity and BM25 score."""
    return Case(
        id=id_,
        split="tune",
        expected=expected,
        text=id_,
        vector=np.zeros(4, np.float32),
        guard=False,
        follow_up=False,
        confidence=0.0,
        evidence=(dense, 0.0, lexical, True, None),
    )


def test_the_english_floor_is_where_the_threshold_loses_least() -> None:
    settings = Settings(_env_file=None, answer_threshold=0.5, confidence_lexical_en=0.0)
    covered = [case(f"a{i}", "answer", 0.86 + i / 100) for i in range(5)]
    uncovered = [case(f"e{i}", "escalate", 0.80 + i / 100) for i in range(3)]
    personal = [case("p0", "escalate", 0.95)]  # escalated for its own case: not counted
    tags = {c.id: [] for c in covered + uncovered} | {"p0": ["personal"]}
    floor, gated, n_covered, passed, n_uncovered = english_floor(
        covered + uncovered + personal, settings, tags
    )
    assert (gated, n_covered, passed, n_uncovered) == (0, 5, 0, 3)
    # The gate (floor + threshold × span) sits between the best uncovered and the worst
    # covered; of the floors that lose nothing the highest (the most cautious) is taken.
    gate = floor + settings.answer_threshold * settings.confidence_dense_span
    assert gate == pytest.approx(0.86, abs=1e-9)


def test_an_answered_uncovered_question_costs_more_than_an_escalated_covered_one() -> None:
    settings = Settings(_env_file=None, answer_threshold=0.5, confidence_lexical_en=0.0)
    # One uncovered question scores above one covered: letting both through costs 2,
    # stopping both costs 1, so the floor stops both.
    cases = [case("a0", "answer", 0.84), case("a1", "answer", 0.90), case("e0", "escalate", 0.85)]
    _, gated, _, passed, _ = english_floor(cases, settings, {c.id: [] for c in cases})
    assert (gated, passed) == (1, 0)


def test_auc() -> None:
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5], [0.5]) == 0.5
