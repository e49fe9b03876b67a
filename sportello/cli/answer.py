"""`sportello ask` and `sportello eval`: one question, or an evaluation file, through the assistant."""

from __future__ import annotations

import json
import re
import statistics
import time
from pathlib import Path

import typer

from sportello.answering.assistant import Assistant
from sportello.cli.common import fail, settings
from sportello.knowledge.service import build_knowledge
from sportello.services import build_assistant


def _assistant() -> Assistant:
    cfg = settings()
    kb = build_knowledge(cfg)
    if len(kb.keywords) == 0:
        raise fail("L'indice è vuoto: esegui prima `sportello kb ingest`.")
    return build_assistant(cfg, kb)


def register(app: typer.Typer) -> None:
    @app.command()
    def ask(
        question: str,
        as_json: bool = typer.Option(False, "--json", help="Print the Reply as JSON."),
    ) -> None:
        """Ask one question (a fresh conversation): prints reply, action, confidence, citations."""
        reply = _assistant().reply([], question)
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "action": reply.action.value,
                        "confidence": reply.confidence,
                        "answer": reply.full_text(),
                        "citations": [c.as_dict() for c in reply.citations],
                        "suggestions": list(reply.suggestions),
                        "reason": reply.reason,
                    },
                    ensure_ascii=False,
                )
            )
            return
        typer.echo(reply.full_text())
        typer.echo(
            f"\n— azione: {reply.action.value} · confidenza: {reply.confidence:.2f} "
            f"· motivo: {reply.reason} · tema: {reply.topic or '—'}"
        )
        for suggestion in reply.suggestions:
            typer.echo(f"  ? {suggestion}")

    @app.command("eval")
    def evaluate(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Questions (JSONL)."),
        out: Path = typer.Option(None, "--out", help="Write one JSON line per question here."),
        split: str = typer.Option(
            "", "--split", help="Only the items of this split (tune, holdout) of a golden set."
        ),
    ) -> None:
        """Run every question of FILE through the assistant and print the summary metrics.

        Each question is a fresh conversation; its `history` turns are sent first, one by one,
        so a follow-up is answered as it would be in the chat.
        """
        # Everything that can be wrong with the input is said before the model loads.
        if out is not None and not out.parent.is_dir():
            raise fail(f"La cartella di --out non esiste: {out.parent}")
        questions = read_questions(file)
        assistant = _assistant()
        if split:
            questions = [q for q in questions if q.get("split") == split]
        results = []
        for q in questions:
            history = assistant.replay(q.get("history") or [])
            started = time.perf_counter()
            reply = assistant.reply(history, q["question"])
            latency = (time.perf_counter() - started) * 1e3
            results.append(
                {
                    "id": q.get("id"),
                    "action": reply.action.value,
                    "answer": reply.full_text(),
                    "citations": [c.doc_id for c in reply.citations],
                    "latency_ms": round(latency, 1),
                    "confidence": reply.confidence,
                    "reason": reply.reason,
                }
            )
        if out:
            out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results))
        typer.echo(json.dumps(summarise(questions, results), ensure_ascii=False, indent=1))


def read_questions(file: Path) -> list[dict]:  # type: ignore[type-arg]
    """The items of a JSONL file; a bad line stops everything, named with its number."""
    questions = []
    for number, line in enumerate(file.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{file}, riga {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise fail(f"{where}: JSON non valido ({exc.msg}, colonna {exc.colno})") from None
        if not isinstance(item, dict):
            raise fail(f"{where}: ogni riga deve essere un oggetto JSON {{...}}")
        if not isinstance(item.get("question"), str) or not item["question"].strip():
            raise fail(f"{where}: manca il campo 'question' (testo della domanda)")
        history = item.get("history")
        if history is not None and not (
            isinstance(history, list) and all(isinstance(t, str) for t in history)
        ):
            raise fail(f"{where}: 'history' deve essere un elenco di messaggi (testi)")
        questions.append(item)
    return questions


def summarise(questions: list[dict], results: list[dict]) -> dict[str, object]:  # type: ignore[type-arg]
    """Fact hit rate over `answer` items, action accuracy, the share of the answers given
    that cite a source, latency."""
    answers = hits = correct = given = cited = 0
    misses = []
    for q, r in zip(questions, results, strict=True):
        expected = q.get("expected_action")
        if r["action"] == expected:
            correct += 1
        else:
            misses.append({"id": q.get("id"), "expected": expected, "got": r["action"]})
        if expected == "answer":
            answers += 1
            facts = q.get("expected_facts") or []
            if r["action"] == "answer" and all(re.search(f, r["answer"], re.I) for f in facts):
                hits += 1
        if r["action"] == "answer":  # every answer given, whatever was expected
            given += 1
            cited += bool(r["citations"])
    latencies = [r["latency_ms"] for r in results]
    summary: dict[str, object] = {
        "questions": len(questions),
        "fact_hit_rate": round(hits / answers, 3) if answers else None,
        "action_accuracy": round(correct / len(results), 3) if results else None,
        "answers_with_citation": round(cited / given, 3) if given else None,
        "latency_ms_p50": round(statistics.median(latencies), 1) if latencies else None,
        "action_misses": misses,
    }
    return summary
