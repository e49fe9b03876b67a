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


def settings() -> Settings:
    return get_settings()


def clock(cfg: Settings) -> Clock:
    """The CLI's clock: the real one, shifted by `clock_offset` like the server's."""
    return SystemClock(cfg.clock_offset)


def database(cfg: Settings, *, migrate: bool = True) -> sessionmaker[Session]:
    """The session factory for `cfg`, with the schema brought up to date first."""
    engine = make_engine(cfg)
    if migrate:
        upgrade(engine)
    return make_sessionmaker(engine, clock(cfg))


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
