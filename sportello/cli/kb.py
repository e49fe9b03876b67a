"""`sportello kb …`: ingest, list, search and stats of the knowledge base."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from sportello.answering.language import detect_language
from sportello.cli.common import clock, database, database_label, edge, fail, settings
from sportello.clock import local_today
from sportello.knowledge import queries
from sportello.knowledge.admin import list_documents as document_rows
from sportello.knowledge.documents import Topic
from sportello.knowledge.kb_files import is_indexable
from sportello.knowledge.service import build_knowledge

app = typer.Typer(no_args_is_help=True)
console = Console()


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(None, help="Files or folders (default: the KB folder)."),
    rebuild: bool = typer.Option(False, help="Empty both indexes first and embed everything."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Index new and changed documents, drop deleted ones; report failures by file name."""
    cfg = settings()
    sessions = database(cfg)
    kb = build_knowledge(cfg, check_embedder=not rebuild, clock=clock(cfg))
    targets = list(paths) if paths else kb.default_paths()
    with edge(), sessions.begin() as session:
        if rebuild:
            kb.indexer.reset()
            for row in queries.documents(session):
                row.content_hash = ""
        total = sum(
            sum(1 for p in t.rglob("*") if is_indexable(p)) if t.is_dir() else 1
            for t in targets
            if t.exists()
        )
        first_run = not as_json and kb.vectors.count() == 0 and total > 0
        if first_run:  # the one long wait (every chunk is embedded): say what it is
            console.print(
                f"Prima indicizzazione: {total} documenti da leggere e incorporare con il "
                f"modello {kb.embedder.name}. Poi i titoli e le frasi; la chat si apre appena finisce."
            )
        with _bar(as_json) as bar:
            task = bar.add_task("Indicizzazione", total=total)
            stores: dict[str, TaskID] = {}

            def stored(name: str, done: int, missing: int) -> None:
                if name not in stores:
                    stores[name] = bar.add_task(STORE_LABELS.get(name, name), total=missing)
                bar.update(stores[name], completed=done)

            report = kb.indexer.ingest(
                targets,
                session=session,
                progress=lambda _name: bar.advance(task),
                store_progress=stored,
            )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        console.print(
            f"Aggiunti {len(report.added)}, aggiornati {len(report.updated)}, "
            f"invariati {len(report.unchanged)}, rimossi {len(report.removed)}, "
            f"falliti {len(report.failed)}; {report.chunks_embedded} chunk indicizzati "
            f"in {report.seconds:.1f} s. Database: {database_label(cfg)}"
        )
        for name, reason in report.failed:
            console.print(f"[red]Non indicizzato[/red] {name}: {reason}")
    if report.failed:  # cron and CI must notice even one document left out
        raise typer.Exit(1)


# The texts embedded after the documents (knowledge/text_vectors.py), as the bar names them.
STORE_LABELS = {"headings": "Titoli delle sezioni", "sentences": "Frasi (domande in inglese)"}


def _bar(disable: bool) -> Progress:
    """Documents done of all, time spent and left (from the pace so far)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("mancano"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=disable,
    )


@app.command("list")
def list_documents(
    as_json: bool = typer.Option(False, "--json"),
    overdue: bool = typer.Option(False, "--overdue", help="Only documents due for a review."),
) -> None:
    """List indexed documents with topic, chunks, review date, status and overdue reviews."""
    cfg = settings()
    sessions = database(cfg)
    today = local_today(clock(cfg), cfg.desk_timezone)
    with sessions.begin() as session:
        rows = document_rows(session=session, settings=cfg, today=today)
    data = [
        {
            "id": r.id,
            "title": r.title,
            "topic": r.topic,
            "chunks": r.chunks,
            "reviewed": r.reviewed.isoformat() if r.reviewed else None,
            "overdue": r.overdue,
            "status": str(r.status),
        }
        for r in sorted(rows, key=lambda r: r.id)
        if r.overdue or not overdue
    ]
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    table = Table("id", "titolo", "tema", "chunk", "revisione", "stato")
    for d in data:
        reviewed = str(d["reviewed"] or "mai")
        if d["overdue"]:
            reviewed = f"[red]{reviewed} (da rivedere)[/red]"
        table.add_row(
            str(d["id"]),
            str(d["title"]),
            str(d["topic"] or ""),
            str(d["chunks"]),
            reviewed,
            str(d["status"]),
        )
    console.print(table)
    due = sum(1 for d in data if d["overdue"])
    if due:
        console.print(
            f"{due} documenti da rivedere (revisione più vecchia di "
            f"{cfg.kb_review_overdue_months} mesi o assente)."
        )


def _staff_action(doc_id: str, action: str) -> None:
    cfg = settings()
    sessions = database(cfg)
    kb = build_knowledge(cfg, clock=clock(cfg))
    with edge(), sessions.begin() as session:
        getattr(kb.indexer, action)(doc_id, session=session)


@app.command()
def retire(doc_id: str = typer.Argument(..., help="Document id, as `kb list` shows it.")) -> None:
    """Take a document out of the answers; it stays listed and no ingest brings it back."""
    _staff_action(doc_id, "retire")
    console.print(f"Ritirato {doc_id}: non viene più usato nelle risposte.")


@app.command()
def restore(doc_id: str = typer.Argument(..., help="Document id, as `kb list` shows it.")) -> None:
    """Put a retired document back, re-reading its file."""
    _staff_action(doc_id, "restore")
    console.print(f"Ripristinato {doc_id}.")


@app.command()
def remove(doc_id: str = typer.Argument(..., help="Document id, as `kb list` shows it.")) -> None:
    """Drop a document from both indexes and the list (e.g. after deleting its file)."""
    _staff_action(doc_id, "remove")
    console.print(f"Rimosso {doc_id} dall'indice.")


@app.command()
def search(
    question: str = typer.Argument(
        None, help="The question; omit to read one per line from stdin."
    ),
    k: int = typer.Option(5, "-k", min=1, max=50, help="How many chunks."),
    topic: Topic = typer.Option(None, help="Only this topic."),
    as_json: bool = typer.Option(False, "--json", help="JSON (one line per question on stdin)."),
) -> None:
    """Ranked chunks for a question with dense, lexical and fused scores and the citation."""
    cfg = settings()
    kb = build_knowledge(cfg)
    if len(kb.keywords) == 0:
        raise fail("L'indice è vuoto: esegui prima `sportello kb ingest`.")
    questions = [question] if question else [line.strip() for line in sys.stdin if line.strip()]
    for q in questions:
        hits = kb.retriever.search(q, k, topic, language=detect_language(q))
        if as_json:
            results = [
                {
                    "doc_id": h.chunk.doc_id,
                    "title": h.chunk.title,
                    "heading": h.chunk.heading,
                    "text": h.chunk.text,
                    "score": round(h.fused_score, 6),
                    "dense_score": h.dense_score,
                    "lexical_score": h.lexical_score,
                    "citation": h.chunk.citation,
                    "link": h.chunk.link,
                }
                for h in hits
            ]
            typer.echo(json.dumps({"query": q, "results": results}, ensure_ascii=False))
            continue
        console.print(f"[bold]{q}[/bold]")
        for rank, h in enumerate(hits, 1):
            dense = f"{h.dense_score:.3f}" if h.dense_score is not None else "—"
            lexical = f"{h.lexical_score:.2f}" if h.lexical_score is not None else "—"
            console.print(
                f"[cyan]{rank}.[/cyan] {h.chunk.citation}  "
                f"[dim](fuso {h.fused_score:.4f} · denso {dense} · lessicale {lexical})[/dim]"
            )
            console.print(f"   {h.chunk.text[:300].replace(chr(10), ' ')}…")
            if h.chunk.link:
                console.print(f"   [dim]{h.chunk.link}[/dim]")


@app.command()
def stats(as_json: bool = typer.Option(False, "--json")) -> None:
    """Documents per topic and status, chunks in each index, embedding model."""
    cfg = settings()
    sessions = database(cfg)
    kb = build_knowledge(cfg)
    with sessions.begin() as session:
        rows = queries.documents(session)
        by_topic: dict[str, int] = {}
        for r in rows:
            by_topic[r.topic or "—"] = by_topic.get(r.topic or "—", 0) + 1
        data = {
            "documents": len(rows),
            "retired": sum(1 for r in rows if r.status == "retired"),
            "by_topic": dict(sorted(by_topic.items())),
            "chunks_dense": kb.vectors.count(),
            "chunks_lexical": len(kb.keywords),
            "embedding_model": kb.embedder.name,
        }
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    for key, value in data.items():
        console.print(f"{key}: {value}")


@app.command("ship-vectors")
def ship_vectors(as_json: bool = typer.Option(False, "--json")) -> None:
    """For developers, after editing knowledge_base/: write the vectors shipped with the
    curated documents (knowledge_base/_vectors/<model>/), which a fresh instance's first ingest
    reads instead of running the model. Embeds only the texts no shipped file holds yet."""
    from sportello.knowledge.embeddings import load_embedder
    from sportello.knowledge.shipped_vectors import curated_texts, ship, shipped_dir

    cfg = settings()
    embedder = load_embedder(cfg.embedding_model, cfg.embedding_threads)
    with edge():
        documents = curated_texts(
            cfg.kb_dir,
            embedder.count_tokens,
            chunk_tokens=cfg.chunk_tokens,
            overlap_tokens=cfg.chunk_overlap_tokens,
            max_bytes=cfg.upload_max_bytes,
        )
        folder = shipped_dir(cfg.kb_dir, embedder.name)
        report = ship(documents, embedder, folder)
    data = {
        "folder": str(folder),
        "documents": len(documents),
        "written": report.written,
        "removed": report.removed,
        "unchanged": report.unchanged,
        "embedded": report.embedded,
    }
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    console.print(
        f"{folder}: {len(report.written)} file scritti, {report.unchanged} invariati, "
        f"{len(report.removed)} rimossi; {report.embedded} testi incorporati con il modello."
    )
