"""`sportello db …`: schema migrations."""

from __future__ import annotations

import typer

from sportello.cli.common import database_label, settings
from sportello.db.engine import make_engine
from sportello.db.migrate import downgrade as alembic_downgrade
from sportello.db.migrate import upgrade as alembic_upgrade

app = typer.Typer(no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head")) -> None:
    """Bring the database to the latest schema (or to REVISION)."""
    cfg = settings()
    alembic_upgrade(make_engine(cfg), revision)
    typer.echo(f"Database aggiornato ({revision}): {database_label(cfg)}")


@app.command()
def downgrade(revision: str) -> None:
    """Step the database schema back to REVISION."""
    cfg = settings()
    alembic_downgrade(make_engine(cfg), revision)
    typer.echo(f"Database riportato a {revision}: {database_label(cfg)}")
