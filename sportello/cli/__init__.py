"""The `sportello` command line: one Typer app with a sub-command group per domain."""

from __future__ import annotations

import logging

import typer

from sportello.cli import db, kb, serve

app = typer.Typer(
    help="Sportello: sportello tecnico per gli enti del Terzo settore.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kb.app, name="kb", help="Knowledge base: ingest, list, search, stats.")
app.add_typer(db.app, name="db", help="Database migrations.")
serve.register(app)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG.")) -> None:
    """Configure logging once for every command."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
