"""`make bench`'s golden section runs end to end on a few items (it runs for half an hour only
in `make bench`: a broken call there must fail here first)."""

from __future__ import annotations

from typing import Any

from bench.golden import GOLDEN_FILE, load_golden, run_golden


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
