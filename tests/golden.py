"""The project's golden set (eval/golden.jsonl): loading and scoring shared by the tests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sportello.answering.assistant import Assistant
from sportello.answering.schemas import Action, Reply
from tests.conftest import EVAL_DIR

GOLDEN_FILE = EVAL_DIR / "golden.jsonl"
PAIRS_FILE = EVAL_DIR / "action_pairs.jsonl"
FRESH_FILE = EVAL_DIR / "action_fresh.jsonl"


def golden(
    split: str | None = None, action: str | None = None, file: Path = GOLDEN_FILE
) -> list[dict[str, Any]]:
    """Items of a question file in the golden set's format (eval/golden.jsonl unless `file`
    says otherwise), optionally of one split and one expected action."""
    items = [json.loads(line) for line in file.read_text("utf-8").splitlines() if line]
    return [
        q
        for q in items
        if (split is None or q["split"] == split)
        and (action is None or q["expected_action"] == action)
    ]


def ask(assistant: Assistant, item: dict[str, Any]) -> Reply:
    """The reply to an item, its `history` turns sent first (as `sportello eval` does)."""
    return assistant.reply(assistant.replay(item.get("history") or []), item["question"])


def has_facts(item: dict[str, Any], reply: Reply) -> bool:
    text = reply.full_text()
    return reply.action is Action.ANSWER and all(
        re.search(f, text, re.IGNORECASE) for f in item["expected_facts"]
    )
