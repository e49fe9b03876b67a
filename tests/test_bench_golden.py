"""`make bench`'s golden section runs end to end on a few items (it runs for half an hour only
in `make bench`: a broken call there must fail here first)."""

from __future__ import annotations

import re
from typing import Any

from bench.golden import (
    GOLDEN_FILE,
    load_golden,
    miss_anatomy,
    read_query,
    replies,
    run_golden,
)
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


def test_a_missing_fact_is_placed_where_the_composer_had_it(
    real_kb_settings: Any, real_kb: Any
) -> None:
    """The miss anatomy reads the sections the composer read: a fact left out of the lead
    section, one in the runner-up's opening, and one in no section are counted where they are."""
    assistant = build_assistant(real_kb_settings, real_kb)
    for item in load_golden([GOLDEN_FILE]):
        if item["expected_action"] != "answer" or item.get("history"):
            continue
        if "english" in (item.get("tags") or []):
            continue
        reply = ask(assistant, item)
        grounds = assistant.grounds([], item["question"])
        if grounds is None:
            continue
        composition = assistant.extractive.compose(
            grounds.query,
            grounds.hits,
            embedder=assistant.retriever.embedder,
            question=grounds.vector,
        )
        text = reply.full_text()
        others = [s for s in composition.read if s is not composition.lead]
        if composition.lead is None or not others:
            continue
        left_out = [s for s in composition.lead.sentences if s[:60] not in text]
        opening = others[0].sentences[0][:60]
        if (
            left_out
            and opening not in text
            and all(
                opening not in " ".join(s.sentences) for s in composition.read if s is not others[0]
            )
        ):
            break
    else:
        raise AssertionError("no golden answer quotes part of its lead and none of its runner-up")
    facts = {
        "lead": re.escape(left_out[0][:60]),
        "runner_up_opening": re.escape(opening),
        "not_read": "nessun documento dice questa frase",
    }
    items = [{**item, "expected_facts": [fact]} for fact in facts.values()]
    records = [{"action": "answer", "text": text} for _ in items]
    counts = miss_anatomy(assistant, items, records)
    assert counts == {
        "miss_lead": 1.0,
        "miss_runner_up_opening": 1.0,
        "miss_runner_up_later": 0.0,
        "miss_lower_section": 0.0,
        "miss_not_read": 1.0,
    }, item["id"]
    # An answer that has its facts is no miss, wherever they are.
    assert sum(miss_anatomy(assistant, [item], [{"action": "answer", "text": text}]).values()) == (
        0 if all(re.search(f, text, re.IGNORECASE) for f in item["expected_facts"]) else 1
    )
