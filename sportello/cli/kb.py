"""`sportello kb …`: ingest, list, search and stats of the knowledge base."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from sportello.cli.common import database, edge, fail, settings
from sportello.knowledge import queries
from sportello.knowledge.documents import Topic
from sportello.knowledge.indexing import is_indexable
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
    kb = build_knowledge(cfg, check_embedder=not rebuild)
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
        with Progress(console=console, transient=True, disable=as_json) as bar:
            task = bar.add_task("Indicizzazione", total=total)
            report = kb.indexer.ingest(
                targets, session=session, progress=lambda _name: bar.advance(task)
            )
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        console.print(
            f"Aggiunti {len(report.added)}, aggiornati {len(report.updated)}, "
            f"invariati {len(report.unchanged)}, rimossi {len(report.removed)}, "
            f"falliti {len(report.failed)}; {report.chunks_embedded} chunk indicizzati "
            f"in {report.seconds:.1f} s."
        )
        for name, reason in report.failed:
            console.print(f"[red]Non indicizzato[/red] {name}: {reason}")
    if report.failed and not (report.added or report.updated or report.unchanged):
        raise typer.Exit(1)


@app.command("list")
def list_documents(as_json: bool = typer.Option(False, "--json")) -> None:
    """List indexed documents with topic, chunks, review date and status."""
    cfg = settings()
    sessions = database(cfg)
    with sessions.begin() as session:
        rows = queries.documents(session)
        data = [
            {
                "id": r.id,
                "title": r.title,
                "topic": r.topic,
                "chunks": r.chunk_count,
                "reviewed": r.reviewed.isoformat() if r.reviewed else None,
                "status": r.status,
            }
            for r in rows
        ]
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    table = Table("id", "titolo", "tema", "chunk", "revisione", "stato")
    for d in data:
        table.add_row(
            *(str(d[key] or "") for key in ("id", "title", "topic", "chunks", "reviewed", "status"))
        )
    console.print(table)


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
        hits = kb.retriever.search(q, k, topic)
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
