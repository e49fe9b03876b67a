"""`sportello conversations …`: the retention purge (the web app also runs it every few hours)."""

from __future__ import annotations

from typing import Annotated

import typer

from sportello.cli.common import clock, database, database_label, settings
from sportello.privacy.retention import purge_expired

app = typer.Typer(no_args_is_help=True)


@app.command()
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go, delete nothing.")
    ] = False,
) -> None:
    """Delete conversations silent for longer than SPORTELLO_RETENTION_DAYS (tickets kept,
    anonymised); suitable for cron."""
    cfg = settings()
    if cfg.retention_days <= 0:
        typer.echo("SPORTELLO_RETENTION_DAYS è 0: le conversazioni sono conservate.")
        return
    sessions = database(cfg, create=False)
    with sessions() as session:
        done = purge_expired(session=session, settings=cfg, now=clock(cfg).now())
        if dry_run:
            session.rollback()
        else:
            session.commit()
    verb = "Da cancellare" if dry_run else "Cancellate"
    typer.echo(
        f"{verb}: {done.conversations} conversazioni più vecchie di {cfg.retention_days} giorni "
        f"({done.messages} messaggi); {done.tickets} ticket resi anonimi. "
        f"Database: {database_label(cfg)}"
    )
