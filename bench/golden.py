"""The golden set in `make bench`: answers, actions and retrieval on `tune` and `holdout`.

`python -m bench.golden [FILE ...]` (after `sportello kb ingest`) prints, for each split:
- fact hit, action accuracy with the confusion matrix, citations of the answers given, English
  fact hit and reply latency of the assistant as configured (extractive composer by default);
- the same for a BM25-only extractive peer (the same assistant, its retriever on BM25 alone,
  its answer_threshold calibrated on `tune` since its confidence lacks the dense signal);
- the calibration table: answer_threshold vs action accuracy and fact hit (any other setting
  with --sweep NAME=v1,v2,…);
- budget-normalised retrieval recall (facts within the first 1,500 / 3,000 / 6,000 characters
  of the ranked chunks), recall@5 and MRR of the current ranking, RRF fusion, dense alone and
  BM25 alone, and the retrieval latency.
bench/run.py calls `run_golden` and merges the figures into bench/results.json (flat keys,
`golden_<split>_…`). Thresholds and weights are tuned on `tune` only; `holdout` is reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from sportello.answering.assistant import Assistant
from sportello.answering.context import as_asked, resolve
from sportello.answering.language import detect_language
from sportello.config import PROJECT_ROOT, Settings
from sportello.knowledge.documents import Topic
from sportello.knowledge.metrics import BUDGETS, facts_in, ranking_quality
from sportello.knowledge.retrieval import Embedded, RetrievedChunk, Retriever, rrf_scores
from sportello.knowledge.service import KnowledgeBase, build_knowledge
from sportello.services import build_assistant

GOLDEN_FILE = PROJECT_ROOT / "eval" / "golden.jsonl"
SPLITS = ("tune", "holdout")
ACTIONS = ("answer", "clarify", "escalate", "refuse")
THRESHOLDS = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
# Without the dense signal the peer's confidence cannot reach ours (the dense part of the
# evidence is missing): it gets its own threshold, calibrated on `tune` like ours was.
PEER_THRESHOLDS = (0.25, 0.35, 0.45, 0.55)
Item = dict[str, object]


def split_for(item_id: str) -> str:
    """The golden set's split rule (eval/README.md): a hash of the id, never picked by hand."""
    h = int(hashlib.sha256(("sportello-golden:" + item_id).encode()).hexdigest(), 16)
    return "holdout" if h % 3 == 0 else "tune"


def load_golden(paths: Iterable[Path]) -> list[Item]:
    """Items of every file, first occurrence of an id wins; a missing split is computed."""
    items: list[Item] = []
    seen: set[str] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            if item["id"] in seen:
                continue
            seen.add(item["id"])
            item.setdefault("split", split_for(str(item["id"])))
            items.append(item)
    return items


def earlier(item: Item) -> list[str]:
    """The user messages a follow-up was asked after (sent first, in its conversation)."""
    return [str(t) for t in item.get("history") or []]  # type: ignore[attr-defined]


def read_query(assistant: Assistant, item: Item) -> str:
    """The question as the assistant searches for it: without greeting and shorthand, and a
    follow-up resolved against the conversation it was asked in."""
    asked = as_asked(str(item["question"]))
    return resolve(asked, assistant.replay(earlier(item))).query


def facts(item: Item) -> list[str]:
    return [str(f) for f in item.get("expected_facts") or []]  # type: ignore[attr-defined]


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


# -- the assistant ----------------------------------------------------------------------------------
class LexicalRetriever(Retriever):
    """The BM25-only peer: the same retriever with the dense index left out."""

    def search(
        self,
        query: str,
        k: int | None = None,
        topic: Topic | None = None,
        *,
        embedded: Embedded | None = None,  # noqa: ARG002 - BM25 alone reads no vector
        language: str = "it",
    ) -> list[RetrievedChunk]:
        _, lexical = self.candidates(query, topic, language=language)
        return self.fuse(dense_hits=[], lexical_hits=lexical, k=k or self.default_k)


def lexical_peer(settings: Settings, kb: KnowledgeBase) -> Assistant:
    r = kb.retriever
    peer = LexicalRetriever(
        r.embedder,
        r.vectors,
        r.keywords,
        candidates=r.candidates_per_index,
        default_k=r.default_k,
        fusion=r.fusion,
        dense_weight=r.dense_weight,
        lexical_full=r.lexical_full,
        headings=None,  # BM25 alone: no embedding of the question to rescore with
    )
    return Assistant(peer, settings.model_copy(update={"composer": "extractive"}))


def replies(assistant: Assistant, items: Sequence[Item]) -> list[dict[str, object]]:
    """One record per item: action, text, citations, latency, and the part of it the intent
    step took (0 for a message a rule refused before it)."""
    out = []
    for item in items:
        started = time.perf_counter()
        reply = assistant.reply(assistant.replay(earlier(item)), str(item["question"]))
        out.append(
            {
                "action": str(reply.action.value),
                "text": reply.full_text(),
                "cited": bool(reply.citations),
                "ms": (time.perf_counter() - started) * 1e3,
                "intent_ms": assistant.last_intent_ms,
            }
        )
    return out


def score(items: Sequence[Item], records: Sequence[dict[str, object]]) -> dict[str, float]:
    """Fact hit (answer items), action accuracy, confusion counts, cited answers, latency."""
    answers = [
        (i, r) for i, r in zip(items, records, strict=True) if i["expected_action"] == "answer"
    ]
    english = [(i, r) for i, r in answers if "english" in (i.get("tags") or [])]  # type: ignore[operator]

    def hit(pair: tuple[Item, dict[str, object]]) -> bool:
        item, record = pair
        return record["action"] == "answer" and facts_in(facts(item), str(record["text"]))

    given = [r for r in records if r["action"] == "answer"]
    figures: dict[str, float] = {
        "n": float(len(items)),
        "fact_hit": sum(map(hit, answers)) / len(answers) if answers else 0.0,
        "action_accuracy": sum(
            i["expected_action"] == r["action"] for i, r in zip(items, records, strict=True)
        )
        / max(1, len(items)),
        "answers_cited": sum(bool(r["cited"]) for r in given) / len(given) if given else 0.0,
        "reply_p50_ms": percentile([float(r["ms"]) for r in records], 50),  # type: ignore[arg-type]
        "reply_p95_ms": percentile([float(r["ms"]) for r in records], 95),  # type: ignore[arg-type]
        "intent_p95_ms": percentile([float(r.get("intent_ms", 0.0)) for r in records], 95),  # type: ignore[arg-type]
    }
    if english:
        figures["english_fact_hit"] = sum(map(hit, english)) / len(english)
    confusion = Counter(
        (str(i["expected_action"]), str(r["action"])) for i, r in zip(items, records, strict=True)
    )
    for expected in ACTIONS:
        for got in ACTIONS:
            figures[f"confusion_{expected}_{got}"] = float(confusion[(expected, got)])
    return figures


# Where an answer's missing facts were, among the sections the extractive composer read.
MISS_PLACES = (
    ("lead", "in the section the answer leads with"),
    ("runner_up_opening", "in the first two sentences of the next best-matching section"),
    ("runner_up_later", "further down that section"),
    ("lower_section", "in a section matched less well"),
    ("not_read", "in none of the sections read"),
)


def miss_anatomy(
    assistant: Assistant, items: Sequence[Item], records: Sequence[dict[str, object]]
) -> dict[str, float]:
    """`miss_<place>` counts over the answers given without every expected fact: where those
    facts were among the sections the composer read (MISS_PLACES). It tells a lead-choice loss
    from a sentence-choice loss and from a retrieval or coverage loss; a split's items are
    counted, never listed."""
    counts = Counter({place: 0 for place, _ in MISS_PLACES})
    for item, record in zip(items, records, strict=True):
        wanted = facts(item)
        if item["expected_action"] != "answer" or record["action"] != "answer" or not wanted:
            continue
        missing = [f for f in wanted if not facts_in([f], str(record["text"]))]
        if not missing:
            continue
        question = str(item["question"])
        grounds = assistant.grounds(assistant.replay(earlier(item)), question)
        if grounds is None:  # replies are deterministic: the plan answers again
            raise RuntimeError(f"{item['id']}: answered once, not on replay")
        composition = assistant.extractive.compose(
            grounds.query,
            grounds.hits,
            language=detect_language(question),
            embedder=assistant.retriever.embedder,
            question=grounds.vector,
        )
        holding = [s for s in composition.read if facts_in(missing, " ".join(s.sentences))]
        runner_up = next((s for s in composition.read if s is not composition.lead), None)
        if not holding:
            counts["not_read"] += 1
        elif composition.lead in holding:
            counts["lead"] += 1
        elif holding[0] is runner_up:
            opening = " ".join(holding[0].sentences[:2])
            counts["runner_up_opening" if facts_in(missing, opening) else "runner_up_later"] += 1
        else:
            counts["lower_section"] += 1
    return {f"miss_{place}": float(n) for place, n in counts.items()}


def sweep(
    settings: Settings,
    kb: KnowledgeBase,
    items: Sequence[Item],
    name: str,
    values: Sequence[float],
    current: Sequence[dict[str, object]] | None = None,
) -> dict[float, dict[str, float]]:
    """Re-run the assistant for each value of setting `name`: accuracy and fact hit per value
    (`current`: the replies at the configured value, reused instead of asked again)."""
    table = {}
    for value in values:
        if current is not None and value == getattr(settings, name):
            records = current
        else:
            assistant = build_assistant(settings.model_copy(update={name: value}), kb)
            records = replies(assistant, items)
        figures = score(items, records)
        table[value] = {k: figures[k] for k in ("action_accuracy", "fact_hit")}
    return table


# -- retrieval -------------------------------------------------------------------------------------
def rankings(
    assistant: Assistant, items: Sequence[Item]
) -> tuple[dict[str, list[list[str]]], list[float]]:
    """Ranked chunk texts per item for each ranker, from one embedding per question; and the
    latency (ms) of the retriever's own search on each question."""
    out: dict[str, list[list[str]]] = {"ours": [], "rrf": [], "dense": [], "bm25": []}
    latencies = []
    retriever = assistant.retriever
    queries = [read_query(assistant, item) for item in items]
    retriever.search("avvio")  # the first search loads the HNSW index: not a volunteer's wait
    for query in queries:
        started = time.perf_counter()
        dense, lexical = retriever.candidates(query)
        question = retriever.embedder.embed_query(query)  # cached: the candidates embedded it
        ours = retriever.fuse(
            dense_hits=dense, lexical_hits=lexical, k=len(dense) + len(lexical), question=question
        )
        latencies.append((time.perf_counter() - started) * 1e3)
        text = {c.chunk.id: c.chunk.text for c in ours}
        orders = {
            "ours": [c.chunk.id for c in ours],
            "rrf": _order(rrf_scores(dense, lexical, retriever.rrf_k)),
            "dense": [cid for cid, _ in dense],
            "bm25": [cid for cid, _ in lexical],
        }
        for name, ids in orders.items():
            out[name].append([text[i] for i in ids if i in text])
    return out, latencies


def _order(scores: dict[str, float]) -> list[str]:
    return [cid for cid, _ in sorted(scores.items(), key=lambda item: -item[1])]


def retrieval_table(assistant: Assistant, items: Sequence[Item]) -> dict[str, float]:
    """`<ranker>_recall_<budget>c`, `<ranker>_recall5`, `<ranker>_mrr` over the answer items."""
    answerable = [i for i in items if i["expected_action"] == "answer" and facts(i)]
    ranked, latencies = rankings(assistant, answerable)
    figures: dict[str, float] = {"retrieval_n": float(len(answerable))}
    for name, texts in ranked.items():
        quality = ranking_quality(list(zip(map(facts, answerable), texts, strict=True)), BUDGETS)
        figures.update({f"{name}_{k}": v for k, v in quality.items()})
    figures["retrieval_p50_ms"] = percentile(latencies, 50)
    figures["retrieval_p95_ms"] = percentile(latencies, 95)
    return figures


# -- the section --------------------------------------------------------------------------------------
def run_golden(
    settings: Settings,
    kb: KnowledgeBase,
    items: Sequence[Item],
    sweeps: dict[str, Sequence[float]] | None = None,
    log: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> dict[str, float]:
    """Every golden figure for both splits, as flat `golden_<split>_<figure>` keys."""
    sweeps = sweeps if sweeps is not None else {"answer_threshold": THRESHOLDS}
    results: dict[str, float] = {}
    ours = build_assistant(settings, kb)
    tune = [i for i in items if i.get("split") == "tune"]
    peer_runs = {
        t: replies(lexical_peer(settings.model_copy(update={"answer_threshold": t}), kb), tune)
        for t in (PEER_THRESHOLDS if tune else ())
    }
    peer_threshold = max(
        peer_runs,
        key=lambda t: tuple(score(tune, peer_runs[t])[k] for k in ("action_accuracy", "fact_hit")),
        default=settings.answer_threshold,
    )
    results["golden_bm25peer_answer_threshold"] = peer_threshold
    peer = lexical_peer(settings.model_copy(update={"answer_threshold": peer_threshold}), kb)
    for split in SPLITS:
        part = [i for i in items if i.get("split") == split]
        if not part:
            continue
        started = time.perf_counter()
        records = replies(ours, part)
        figures = score(part, records)
        peer_records = peer_runs[peer_threshold] if split == "tune" else replies(peer, part)
        figures.update({f"bm25peer_{k}": v for k, v in score(part, peer_records).items()})
        figures.update(retrieval_table(ours, part))
        figures.update(miss_anatomy(ours, part, records))
        for name, values in sweeps.items():
            for value, row in sweep(settings, kb, part, name, values, records).items():
                figures.update({f"sweep_{name}_{value:g}_{k}": v for k, v in row.items()})
        results.update({f"golden_{split}_{k}": v for k, v in figures.items()})
        log(f"golden {split}: {len(part)} items in {time.perf_counter() - started:.0f} s")
    return results


def print_golden(results: dict[str, float], retriever_fusion: str = "weighted") -> None:
    """The golden tables, one block per split."""
    for split in SPLITS:
        g = {
            k[len(f"golden_{split}_") :]: v
            for k, v in results.items()
            if k.startswith(f"golden_{split}_")
        }
        if not g:
            continue
        print(f"\n== golden set, {split} ({int(g['n'])} items) ==")
        peer_threshold = results.get("golden_bm25peer_answer_threshold", float("nan"))
        print(f"{'':<22}{'ours':>10}{'BM25 peer':>11}   (peer answer_threshold {peer_threshold:g})")
        for key in ("fact_hit", "english_fact_hit", "action_accuracy", "answers_cited"):
            if key in g:
                print(f"{key:<22}{g[key]:>10.3f}{g.get('bm25peer_' + key, float('nan')):>11.3f}")
        for key in ("reply_p50_ms", "reply_p95_ms", "intent_p95_ms"):
            print(f"{key:<22}{g[key]:>10.1f}{g['bm25peer_' + key]:>11.1f}")
        for prefix, label in (("", "ours"), ("bm25peer_", "BM25 peer")):
            print(f"\nconfusion ({label}): rows expected, columns given")
            print(f"{'':<10}" + "".join(f"{a:>10}" for a in ACTIONS))
            for expected in ACTIONS:
                row = [g[f"{prefix}confusion_{expected}_{got}"] for got in ACTIONS]
                if sum(row):
                    print(f"{expected:<10}" + "".join(f"{int(v):>10d}" for v in row))
        table: dict[tuple[str, str], dict[str, float]] = {}
        for key, value in g.items():
            if not key.startswith("sweep_"):
                continue
            for figure in ("action_accuracy", "fact_hit"):
                if key.endswith("_" + figure):
                    name, setting = key[len("sweep_") : -len(figure) - 1].rsplit("_", 1)
                    table.setdefault((name, setting), {})[figure] = value
        if table:
            print("\ncalibration: setting = value, action accuracy, fact hit")
            for (name, setting), row in table.items():
                print(
                    f"  {name} = {setting:<6}{row.get('action_accuracy', 0):>8.3f}"
                    f"{row.get('fact_hit', 0):>8.3f}"
                )
        print("\nanswers given without every expected fact: where the missing facts were")
        for place, meaning in MISS_PLACES:
            print(f"  {int(g[f'miss_{place}']):>4}  {meaning}")
        print(
            f"\nretrieval on {int(g['retrieval_n'])} answer items: all expected facts within the "
            "first N characters of the ranked chunks"
        )
        columns = [f"recall_{b}c" for b in BUDGETS] + ["recall5", "mrr"]
        print(f"{'ranking':<24}" + "".join(f"{c:>13}" for c in columns))
        names = {
            "ours": f"ours ({retriever_fusion})",
            "rrf": "RRF (before)",
            "dense": "dense only",
            "bm25": "BM25 only",
        }
        for name, label in names.items():
            print(f"{label:<24}" + "".join(f"{g[f'{name}_{c}']:>13.3f}" for c in columns))
        print(
            f"retrieval latency (ours): p50 {g['retrieval_p50_ms']:.1f} ms, "
            f"p95 {g['retrieval_p95_ms']:.1f} ms"
        )


def parse_sweeps(values: Sequence[str]) -> dict[str, Sequence[float]]:
    out: dict[str, Sequence[float]] = {}
    for spec in values:
        name, _, numbers = spec.partition("=")
        out[name] = [float(v) for v in numbers.split(",") if v]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="*", type=Path, default=[GOLDEN_FILE])
    parser.add_argument(
        "--sweep",
        action="append",
        default=[],
        help="setting=v1,v2,… to re-run for (default answer_threshold over a grid)",
    )
    parser.add_argument("--out", type=Path, help="also write the figures here (JSON)")
    args = parser.parse_args()
    settings = Settings()
    kb = build_knowledge(settings)
    items = load_golden(args.files)
    sweeps = parse_sweeps(args.sweep) if args.sweep else None
    results = run_golden(settings, kb, items, sweeps)
    print_golden(results, settings.retrieval_fusion)
    if args.out:
        args.out.write_text(json.dumps({k: round(v, 4) for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
