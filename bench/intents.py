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
from sportello.answering.decision import ACTIONS, CALIBRATION_FILE, Calibration
from sportello.answering.intents import IntentResult, write_shipped_vectors
from sportello.answering.language import detect_language
from sportello.answering.linear import train
from sportello.config import Settings
from sportello.knowledge.embeddings import load_embedder
from sportello.knowledge.service import build_knowledge
from sportello.services import build_assistant

FOLDS = 5
L2S = (1e-3, 1e-2, 1e-1)
# Class weighting of the action model: 1 = balanced classes, 0 = the tune split's own mix.
BALANCES = (0.0, 0.5, 1.0)
SEEDS = range(5)  # fold draws of the repeated cross-validation
CONFIDENCE_BINS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01))
TAGS = ("english", "wrongdoing", "personal", "vague", "followup", "offtopic", "injection")


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
    # top dense, coverage, top BM25, in English, best similarity to the hits' English headings
    evidence: tuple[float, float, float, bool, float | None]


def measure(assistant: Assistant, items: list[dict]) -> list[Case]:  # type: ignore[type-arg]
    settings = assistant.settings
    cases = []
    for item in items:
        text = item["question"]
        turns = assistant.replay(item.get("history") or [])
        language = detect_language(text)
        verdict = guards.check(text, settings.max_message_chars)
        # As the assistant reads it: the question without its greeting and shorthand, a
        # follow-up with the earlier question it resolves to; one embedding serves the vote
        # and retrieval.
        resolved = context.resolve(context.as_asked(text), turns)
        embedded = assistant.retriever.embed(resolved.query)
        vector = embedded.vector
        confidence, signals = 0.0, (0.0, 0.0, 0.0, False, None)
        if verdict is None:
            hits = assistant.retriever.search(
                resolved.query, SEARCH_K, embedded=embedded, language=language
            )
            found = assistant.evidence(resolved.query, hits, vector, language)
            confidence = found.confidence
            signals = (
                found.top_dense,
                found.coverage,
                found.top_lexical,
                language == "en",
                found.english_heading,
            )
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
                signals,
            )
        )
    return cases


# What a wrong gate costs: answering a question the knowledge base does not cover (from the
# nearest documents, about something else) is worse than escalating one it covers.
ANSWERED_UNCOVERED_COST = 2


# Escalations for a reason other than coverage (the person's own case, a person asked for).
PERSONAL_TAGS = frozenset({"personal", "document", "dispute", "do_for_us", "wants_person"})


def english_floor(
    cases: list[Case], settings: Settings, tags: dict[str, list[str]]
) -> tuple[float, int, int, int, int]:
    """The English dense floor where the answer threshold loses least on `cases`: English
    answer items it would escalate (cost 1) and English escalations of questions the
    knowledge base does not cover that it would let through (cost 2). Returns the floor,
    the escalated answers and their count, the answered escalations and their count."""
    english = [c for c in cases if c.evidence[3] and not c.guard and not c.follow_up]
    covered = [c for c in english if c.expected == "answer"]
    uncovered = [
        c for c in english if c.expected == "escalate" and not PERSONAL_TAGS & set(tags[c.id])
    ]

    def passes(case: Case, floor: float) -> bool:
        dense, coverage, lexical, _, heading = case.evidence
        confidence = decision.confidence_of(
            dense,
            coverage,
            lexical,
            floor,
            settings.confidence_dense_span,
            settings.confidence_lexical_full,
            english_lexical=settings.confidence_lexical_en,
            english_heading=heading,
            heading_weight=settings.confidence_heading_en,
        )
        return confidence >= settings.answer_threshold

    def errors(floor: float) -> tuple[int, int]:
        return (
            sum(not passes(c, floor) for c in covered),
            sum(passes(c, floor) for c in uncovered),
        )

    floors = np.round(np.arange(0.70, 0.85, 0.001), 3)
    errors_at = {float(f): errors(float(f)) for f in floors}
    best = min(
        errors_at,
        key=lambda f: (errors_at[f][0] + ANSWERED_UNCOVERED_COST * errors_at[f][1], -f),
    )
    gated, passed = errors_at[best]
    return float(best), gated, len(covered), passed, len(uncovered)


def auc(positive: list[float], negative: list[float]) -> float:
    """The chance that a positive scores above a negative (ties count half)."""
    pairs = [(p > n) + 0.5 * (p == n) for p in positive for n in negative]
    return float(np.mean(pairs)) if pairs else float("nan")


def action(case: Case, found: IntentResult, settings: Settings, calibration: Calibration) -> str:
    """The assistant's decision (Assistant._plan), replayed from the stored measurements."""
    if case.guard:
        return "refuse"
    return decision.act(
        found,
        case.confidence,
        settings.answer_threshold,
        follow_up=case.follow_up,
        calibration=calibration,
        floor=settings.answer_floor("en" if case.evidence[3] else "it"),
    )[0]


def italian_floor_sweep(
    cases: list[Case], found: list[IntentResult], settings: Settings, calibration: Calibration
) -> str:
    """The Italian answer floor against action accuracy on the Italian items of `cases` (no
    rule refused them; the action model as fitted): Italian answer items escalated, and
    Italian items of any other action answered, at each floor (the model itself reads the
    confidence from answer_threshold either way)."""
    italian = [i for i, c in enumerate(cases) if not c.evidence[3] and not c.guard]
    lines = [f"floor  accuracy on {len(italian)}  answers escalated  others answered"]
    for floor in np.round(np.arange(0.40, settings.answer_threshold + 0.001, 0.01), 2):
        probe = settings.model_copy(update={"answer_floor_it": float(floor)})
        got = {i: action(cases[i], found[i], probe, calibration) for i in italian}
        correct = sum(got[i] == cases[i].expected for i in got)
        escalated = sum(got[i] != "answer" and cases[i].expected == "answer" for i in got)
        answered = sum(got[i] == "answer" and cases[i].expected != "answer" for i in got)
        lines.append(
            f"{floor:5.2f}  {correct / len(italian):14.3f}  {escalated:17d}  {answered:15d}"
        )
    return "\n".join(lines)


def confusion(expected: list[str], got: list[str]) -> str:
    counts = Counter(zip(expected, got, strict=True))
    lines = ["expected \\ got " + "".join(f"{a:>10}" for a in ACTIONS)]
    for row in ACTIONS:
        lines.append(f"{row:>15}" + "".join(f"{counts[(row, a)]:>10}" for a in ACTIONS))
    return "\n".join(lines)


def fit(
    cases: list[Case],
    found: list[IntentResult],
    settings: Settings,
    l2: float,
    balance: float,
) -> Calibration:
    """The action model on `cases` (those no rule refused): standardised features, softmax."""
    rows = [i for i, c in enumerate(cases) if not c.guard]
    x = np.stack(
        [
            decision.features(
                found[i],
                cases[i].confidence,
                settings.answer_threshold,
                follow_up=cases[i].follow_up,
            )
            for i in rows
        ]
    )
    y = np.array([ACTIONS.index(cases[i].expected) for i in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    model = train((x - mean) / scale, y, len(ACTIONS), l2=l2, steps=600, rate=0.5, balance=balance)
    return Calibration(model, mean.astype(np.float32), scale.astype(np.float32))


def cross_validate(
    cases: list[Case],
    found: list[IntentResult],
    settings: Settings,
    l2: float,
    balance: float,
    seed: int = 0,
) -> list[str]:
    """Each tune case's action from a model fitted on the other folds (5, drawn by `seed`)."""
    folds = np.array_split(np.random.default_rng(seed).permutation(len(cases)), FOLDS)
    got = [""] * len(cases)
    for fold in folds:
        held = set(fold.tolist())
        rest = [i for i in range(len(cases)) if i not in held]
        calibration = fit([cases[i] for i in rest], [found[i] for i in rest], settings, l2, balance)
        for i in fold:
            got[i] = action(cases[i], found[i], settings, calibration)
    return got


def calibration_table(
    cases: list[Case], found: list[IntentResult], got: list[str], settings: Settings
) -> str:
    """How often the action is right, by the action model's probability of it."""
    calibration = decision.load_calibration()
    bins: dict[str, list[bool]] = {}
    for case, result, chosen in zip(cases, found, got, strict=True):
        if case.guard:
            continue
        x = decision.features(
            result, case.confidence, settings.answer_threshold, follow_up=case.follow_up
        )
        p = float(calibration.model.proba((x - calibration.mean) / calibration.scale).max())
        label = next(f"{lo:.1f}-{hi:.1f}" for lo, hi in CONFIDENCE_BINS if lo <= p < hi)
        bins.setdefault(label, []).append(chosen == case.expected)
    lines = ["p(action)   n  accuracy"]
    for lo, hi in CONFIDENCE_BINS:
        right = bins.get(f"{lo:.1f}-{hi:.1f}", [])
        if right:
            lines.append(f"{lo:.1f}-{hi:.1f} {len(right):>5} {sum(right) / len(right):>9.3f}")
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


def regularisation(mean: dict[tuple[float, float], float]) -> tuple[float, float]:
    """The (l2, class balance) of the best mean cross-validated accuracy. Means equal to the
    third decimal (under half an item on the tune split) are a tie, and a tie keeps the values
    the current action model was fitted with: a refit changes replies only on evidence."""
    top = round(max(mean.values()), 3)
    ties = [k for k in mean if round(mean[k], 3) == top]
    current = json.loads(CALIBRATION_FILE.read_text("utf-8")) if CALIBRATION_FILE.exists() else {}
    kept = (current.get("l2"), current.get("balance"))
    return kept if kept in ties else ties[0]  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument(
        "--fit",
        action="store_true",
        help=f"Refit {CALIBRATION_FILE.name} (and write the shipped example vectors).",
    )
    parser.add_argument(
        "--vectors",
        action="store_true",
        help="Write the example vectors shipped for the configured model (prompts/intents/vectors).",
    )
    parser.add_argument("--misses", action="store_true", help="List the tune misses.")
    parser.add_argument(
        "--tune-only",
        action="store_true",
        help="Print no holdout figure (while tuning: holdout totals are read once, at the end).",
    )
    parser.add_argument(
        "--measured", type=Path, default=None, help="Reuse (or write) the measurements here."
    )
    args = parser.parse_args()
    settings = Settings()
    if args.vectors or args.fit:
        # Before the assistant is built: it starts from them (an example they lack is embedded).
        path = write_shipped_vectors(load_embedder(settings.embedding_model))
        print(f"wrote {path}")
    if not args.files:
        if not args.vectors:
            parser.error("the golden files to measure on are needed (or --vectors alone)")
        return
    assistant = build_assistant(settings, build_knowledge(settings))
    items = [
        json.loads(line)
        for path in args.files
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]
    tags = {item["id"]: item.get("tags") or [] for item in items}
    started = time.perf_counter()
    if args.measured is not None and args.measured.exists():
        cases = [Case(**row) for row in pickle.loads(args.measured.read_bytes())]
    else:
        cases = measure(assistant, items)
        if args.measured is not None:
            args.measured.write_bytes(pickle.dumps([vars(c) for c in cases]))
    print(f"measured {len(cases)} questions in {time.perf_counter() - started:.0f} s")
    floor, gated, covered, passed, uncovered = english_floor(
        [c for c in cases if c.split == "tune"], settings, tags
    )
    print(
        f"English dense floor where the answer threshold loses least on tune: {floor:.3f} "
        f"(setting {settings.confidence_dense_floor_en}): {gated}/{covered} English answer "
        f"items escalated, {passed}/{uncovered} English escalations answered"
    )
    found = [assistant.intents.classify(c.text, c.vector) for c in cases]
    tune = [i for i, c in enumerate(cases) if c.split == "tune"]
    wrong = [i for i in tune if "wrongdoing" in tags[cases[i].id]]
    other = [i for i in tune if cases[i].expected in ("answer", "escalate") and not cases[i].guard]
    print(
        "Wrongdoing checks on tune, AUC of wrongdoing requests against the other answer and "
        "escalate items: "
        + ", ".join(
            f"{name} {auc([score(found[i]) for i in wrong], [score(found[i]) for i in other]):.3f}"
            for name, score in (
                ("embedding", lambda f: f.wrongdoing),
                ("words", lambda f: f.wrongdoing_words),
                ("both (geometric mean)", lambda f: f.wrongdoing_odds),
            )
        )
    )
    holdout = [i for i, c in enumerate(cases) if c.split == "holdout" and not args.tune_only]
    tune_cases, tune_found = [cases[i] for i in tune], [found[i] for i in tune]
    print(
        f"\nAction model, 5-fold cross-validation on tune repeated with {len(SEEDS)} fold "
        "draws (l2, class balance vs mean action accuracy, lowest and highest draw):"
    )
    cv: dict[tuple[float, float], list[str]] = {}  # the first draw's actions
    mean: dict[tuple[float, float], float] = {}
    for l2 in L2S:
        for balance in BALANCES:
            draws = []
            for seed in SEEDS:
                got = cross_validate(tune_cases, tune_found, settings, l2, balance, seed)
                cv.setdefault((l2, balance), got)
                draws.append(
                    sum(g == c.expected for g, c in zip(got, tune_cases, strict=True)) / len(tune)
                )
            mean[l2, balance] = float(np.mean(draws))
            print(
                f"l2={l2:<6g} balance={balance:<4g} {mean[l2, balance]:.3f} "
                f"({min(draws):.3f}-{max(draws):.3f})"
            )
    # One draw of five folds moves by an item or two: the choice reads the mean of the draws.
    best = regularisation(mean)
    if args.fit:
        calibration = fit(tune_cases, tune_found, settings, *best)
        CALIBRATION_FILE.write_text(
            json.dumps(
                {
                    "about": "Action model fitted by `python -m bench.intents --fit` on the "
                    f"tune items of {', '.join(p.name for p in args.files)} ({len(tune)} "
                    f"items), l2={best[0]}, class balance {best[1]}.",
                    "l2": best[0],
                    "balance": best[1],
                    "weights": np.round(calibration.model.weights, 5).tolist(),
                    "bias": np.round(calibration.model.bias, 5).tolist(),
                    "mean": np.round(calibration.mean, 5).tolist(),
                    "scale": np.round(calibration.scale, 5).tolist(),
                },
                indent=1,
            )
            + "\n",
            "utf-8",
        )
        decision.load_calibration.cache_clear()
        print(f"wrote {CALIBRATION_FILE} (l2={best[0]}, balance={best[1]})")
    calibration = decision.load_calibration()
    print(
        f"\nItalian answer floor on tune (setting {settings.answer_floor_it}; English keeps "
        f"{settings.answer_threshold}):"
    )
    print(italian_floor_sweep(tune_cases, tune_found, settings, calibration))
    report = [("tune (cross-validated, first draw)", tune, cv[best])]
    for name, part in (("tune (fitted model)", tune), ("holdout", holdout)):
        if not part:
            continue
        report.append(
            (name, part, [action(cases[i], found[i], settings, calibration) for i in part])
        )
    for name, part, given in report:
        expected = [cases[i].expected for i in part]
        correct = [g == e for g, e in zip(given, expected, strict=True)]
        print(f"\n{name}: {len(part)} questions, action accuracy {sum(correct) / len(part):.3f}")
        print(confusion(expected, given))
        for tag in TAGS:
            mine = [
                r for r, i in zip(correct, part, strict=True) if tag in tags.get(cases[i].id, [])
            ]
            if mine:
                print(f"  {tag:<11} {sum(mine)}/{len(mine)}")
    if holdout:
        print("\nCalibration table on holdout (the action model's probability vs accuracy):")
        print(
            calibration_table(
                [cases[i] for i in holdout], [found[i] for i in holdout], report[2][2], settings
            )
        )
    if args.misses:
        print("\nTune misses (cross-validated):")
        for case, result, chosen in zip(tune_cases, tune_found, cv[best], strict=True):
            if chosen != case.expected:
                print(
                    f"{case.id} {case.expected}->{chosen} best={result.best} "
                    f"wd={result.wrongdoing:.2f} conf={case.confidence:.2f} "
                    f"fu={case.follow_up} | {case.text[:110]}"
                )
    print("\nintent step:", json.dumps(timing(assistant, cases)))


if __name__ == "__main__":
    main()
