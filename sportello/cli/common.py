"""Helpers shared by the CLI commands: settings, database, knowledge base, error output."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session, sessionmaker

from sportello.clock import Clock, SystemClock
from sportello.config import Settings, get_settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import upgrade
from sportello.errors import SportelloError
from sportello.preflight import shown_database


def settings() -> Settings:
    return get_settings()


def clock(cfg: Settings) -> Clock:
    """The CLI's clock: the real one, shifted by `clock_offset` like the server's."""
    return SystemClock(cfg.clock_offset)


def database(cfg: Settings, *, migrate: bool = True, create: bool = True) -> sessionmaker[Session]:
    """The session factory for `cfg`, with the schema brought up to date first.

    `create=False`: a command that only reads or deletes (the retention purge from cron) refuses
    to start a new empty SQLite database where none is, instead of reporting "0" on it."""
    if not create and not cfg.database_url:
        path = cfg.resolved_data_dir() / "sportello.db"
        if not path.exists():
            raise fail(
                f"Nessun database in {path}: controlla SPORTELLO_DATA_DIR (o "
                "SPORTELLO_DATABASE_URL), oppure crealo con `sportello db upgrade`."
            )
    engine = make_engine(cfg)
    if migrate:
        upgrade(engine)
    return make_sessionmaker(engine, clock(cfg))


def database_label(cfg: Settings) -> str:
    """Which database a command works on, for its output (no password)."""
    return shown_database(cfg)


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


@contextmanager
def edge() -> Iterator[None]:
    """Turn a SportelloError into a clear message and exit code 1 (no traceback)."""
    try:
        yield
    except SportelloError as exc:
        raise fail(f"Errore: {exc.detail}") from exc
