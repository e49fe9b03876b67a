"""Calibrate the intent vote (k, margin, off-topic evidence) on the golden set's `tune` split.

`python -m bench.intents eval/golden.jsonl [more.jsonl…] [--k 3 --margin 0.02]` (after
`sportello kb ingest`). Every question goes through the real rules, context, retrieval and
evidence once; the vote is then replayed for each (k, margin) from the stored query vectors,
with the assistant's own decision functions, so a sweep costs matrix products, not retrieval.

Prints the calibration table (margin vs action accuracy on `tune`) and, for the chosen values,
action accuracy and the confusion matrix on `tune` and on `holdout`. Holdout is reported, never
tuned on: this script prints no holdout question, only its totals.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sportello.answering import context, decision, guards
from sportello.answering.assistant import SEARCH_K, Assistant
from sportello.answering.intents import Intent, IntentClassifier
from sportello.answering.language import detect_language
from sportello.answering.schemas import Turn
from sportello.config import Settings
from sportello.knowledge.service import build_knowledge
from sportello.services import build_assistant

ACTIONS = ["answer", "clarify", "escalate", "refuse"]
MARGINS = [0.0, 0.01, 0.02, 0.03]
REFUSE_MARGINS = [0.0, 0.01, 0.02, 0.03]
KS = [1, 3, 5]


def split_of(item: dict) -> str:  # type: ignore[type-arg]
    """The golden set's split: the `split` field, else the documented hash rule."""
    if item.get("split"):
        return str(item["split"])
    digest = hashlib.sha256(("sportello-golden:" + item["id"]).encode()).hexdigest()
    return "holdout" if int(digest, 16) % 3 == 0 else "tune"


@dataclass
class Case:
    id: str
    split: str
    expected: str
    text: str
    vector: np.ndarray
    guard: bool  # a rule refused it
    follow_up: bool
    confidence: float


def history_turns(assistant: Assistant, earlier: list[str]) -> list[Turn]:
    """Replay the earlier user turns through the assistant, as the conversation went."""
    turns: list[Turn] = []
    for text in earlier:
        reply = assistant.reply(turns, text)
        turns += [
            Turn("user", text),
            Turn("assistant", reply.text, topic=reply.topic, action=reply.action.value),
        ]
    return turns


def measure(assistant: Assistant, items: list[dict]) -> list[Case]:  # type: ignore[type-arg]
    settings = assistant.settings
    cases = []
    for item in items:
        text = item["question"]
        turns = history_turns(assistant, item.get("history") or [])
        language = detect_language(text)
        verdict = guards.check(text, settings.max_message_chars)
        resolved = context.resolve(text, turns)
        # As the assistant votes: a follow-up with the earlier question it resolves to.
        vector = assistant.retriever.embedder.embed_query(resolved.query.strip())
        confidence = 0.0
        if verdict is None:
            hits = assistant.retriever.search(resolved.query, SEARCH_K)
            confidence = decision.evidence(
                resolved.query,
                hits,
                settings.confidence_dense_floor,
                settings.confidence_dense_span,
                settings.confidence_lexical_full,
                assistant.retriever.keywords.idf,
                assistant.retriever.keywords.stems,
                dense_only=language == "en",
            ).confidence
        cases.append(
            Case(
                item["id"],
                split_of(item),
                item["expected_action"],
                resolved.query,
                np.asarray(vector),
                verdict is not None,
                resolved.follow_up,
                confidence,
            )
        )
    return cases


def action(case: Case, intents: IntentClassifier, settings: Settings) -> str:
    """The assistant's decision (Assistant._plan), replayed from the stored measurements."""
    if case.guard:
        return "refuse"
    found = intents.classify(case.text, case.vector)
    intent = decision.route(found, follow_up=case.follow_up)
    if intent is Intent.VAGUE:
        return "clarify"
    if intent in (Intent.INJECTION, Intent.WRONGDOING):
        return "refuse"
    if intent in (Intent.WANTS_PERSON, Intent.PERSONAL_CASE):
        return "escalate"
    if (
        decision.leans_off_topic(found, follow_up=case.follow_up)
        and case.confidence < settings.off_topic_threshold
    ):
        return "refuse"
    return "answer" if case.confidence >= settings.answer_threshold else "escalate"


def accuracy(cases: list[Case], intents: IntentClassifier, settings: Settings) -> float:
    return sum(action(c, intents, settings) == c.expected for c in cases) / max(len(cases), 1)


def confusion(cases: list[Case], intents: IntentClassifier, settings: Settings) -> str:
    counts = Counter((c.expected, action(c, intents, settings)) for c in cases)
    lines = ["expected \\ got " + "".join(f"{a:>10}" for a in ACTIONS)]
    for expected in ACTIONS:
        lines.append(f"{expected:>15}" + "".join(f"{counts[(expected, a)]:>10}" for a in ACTIONS))
    return "\n".join(lines)


def timing(assistant: Assistant, cases: list[Case]) -> dict[str, float]:
    """What the intent step adds per reply: the vote with the vector known (retrieval's query
    cache then serves the same text), and the cost of a cold embedding for comparison."""
    added = []
    for case in cases:
        started = time.perf_counter()
        assistant.intents.classify(case.text, case.vector)
        added.append((time.perf_counter() - started) * 1e3)
    added.sort()
    return {
        "vote_ms_p50": round(statistics.median(added), 3),
        "vote_ms_p95": round(added[int(0.95 * (len(added) - 1))], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--k", type=int, default=None)
    parser.add_argument("--margin", type=float, default=None)
    parser.add_argument("--misses", action="store_true", help="List the tune misses.")
    parser.add_argument(
        "--measured", type=Path, default=None, help="Reuse (or write) the measurements here."
    )
    args = parser.parse_args()
    settings = Settings()
    assistant = build_assistant(settings, build_knowledge(settings))
    items = [
        json.loads(line)
        for path in args.files
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]
    started = time.perf_counter()
    if args.measured is not None and args.measured.exists():
        cases = [Case(**row) for row in pickle.loads(args.measured.read_bytes())]
    else:
        cases = measure(assistant, items)
        if args.measured is not None:
            args.measured.write_bytes(pickle.dumps([vars(c) for c in cases]))
    tune = [c for c in cases if c.split == "tune"]
    holdout = [c for c in cases if c.split == "holdout"]
    print(f"measured {len(cases)} questions in {time.perf_counter() - started:.0f} s")
    intents = assistant.intents
    print("\nCalibration on tune (action accuracy; rows: margin / refuse margin):")
    print("margin refuse " + "".join(f"{'k=' + str(k):>8}" for k in KS))
    for margin in MARGINS:
        for refuse_margin in REFUSE_MARGINS:
            row = []
            for k in KS:
                intents.k, intents.margin, intents.refuse_margin = k, margin, refuse_margin
                row.append(f"{accuracy(tune, intents, settings):>8.3f}")
            print(f"{margin:>6.3f} {refuse_margin:>6.3f} " + "".join(row))
    intents.k = args.k or settings.intent_k
    intents.margin = settings.intent_margin if args.margin is None else args.margin
    intents.refuse_margin = settings.intent_refuse_margin
    print(f"\nChosen k={intents.k} margin={intents.margin} refuse={intents.refuse_margin}")
    for name, part in (("tune", tune), ("holdout", holdout)):
        print(
            f"\n{name}: {len(part)} questions, action accuracy "
            f"{accuracy(part, intents, settings):.3f}"
        )
        print(confusion(part, intents, settings))
    if args.misses:
        print("\nTune misses:")
        for case in tune:
            got = action(case, intents, settings)
            if got != case.expected:
                found = intents.classify(case.text, case.vector)
                print(
                    f"{case.id} {case.expected}->{got} best={found.best} m={found.margin:.3f} "
                    f"conf={case.confidence:.2f} fu={case.follow_up} {found.nearest[:2]} "
                    f"| {case.text[:110]}"
                )
    print("\nintent step:", json.dumps(timing(assistant, cases)))


if __name__ == "__main__":
    main()
