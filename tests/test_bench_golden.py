"""`make bench`'s golden section runs end to end on a few items (it runs for half an hour only
in `make bench`: a broken call there must fail here first)."""

from __future__ import annotations

from typing import Any

from bench.golden import GOLDEN_FILE, load_golden, read_query, replies, run_golden
from sportello.answering.context import as_asked
from sportello.services import build_assistant
from tests.golden import ask


def test_the_golden_section_gives_every_figure_for_both_splits(
    real_kb_settings: Any, real_kb: Any
) -> None:
    items = load_golden([GOLDEN_FILE])
    few = [
        next(i for i in items if i["split"] == split and i["expected_action"] == action)
        for split in ("tune", "holdout")
        for action in ("answer", "refuse")
    ]
    results = run_golden(
        real_kb_settings, real_kb, few, sweeps={"answer_threshold": (0.5,)}, log=lambda _: None
    )
    for split in ("tune", "holdout"):
        assert results[f"golden_{split}_n"] == 2
        for key in ("fact_hit", "action_accuracy", "bm25peer_action_accuracy", "ours_recall5"):
            assert 0.0 <= results[f"golden_{split}_{key}"] <= 1.0, key
        assert f"golden_{split}_sweep_answer_threshold_0.5_fact_hit" in results
    assert results["golden_bm25peer_answer_threshold"] > 0


def test_a_follow_up_is_asked_in_the_conversation_it_follows(
    real_kb_settings: Any, real_kb: Any
) -> None:
    """The bench scores a follow-up as `sportello eval` and the tests do: its earlier messages
    sent first and answered, so it resolves against the question before it."""
    follow_ups = [i for i in load_golden([GOLDEN_FILE]) if i.get("history")][:3]
    assistant = build_assistant(real_kb_settings, real_kb)
    for item, record in zip(follow_ups, replies(assistant, follow_ups), strict=True):
        assert record["text"] == ask(assistant, item).full_text(), item["id"]
        # Resolved against the question before it (without the earlier turns' replies the
        # follow-up was searched for alone).
        assert read_query(assistant, item) != as_asked(item["question"]), item["id"]
