"""The `sportello` command line: one Typer app with a sub-command group per domain."""

from __future__ import annotations

import logging
import sys
from typing import Any

import typer

from sportello.cli import answer, conversations, db, desk, kb, person, serve, user
from sportello.config import ConfigError, get_settings
from sportello.logging_setup import configure_logging
from sportello.preflight import startup_message


class _Sportello(typer.Typer):
    """The command line; a configuration error ends it with one line, not a traceback."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            try:
                cfg = get_settings()
            except ConfigError:
                cfg = None
            message = startup_message(exc, cfg)
            if message is None:
                raise
            typer.secho(message, fg=typer.colors.RED, err=True)
            sys.exit(2)


app = _Sportello(
    help="Sportello: sportello tecnico per gli enti del Terzo settore.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(
    kb.app, name="kb", help="Knowledge base: ingest, list, search, stats, retire, restore, remove."
)
app.add_typer(db.app, name="db", help="Database migrations.")
app.add_typer(desk.app, name="desk", help="Help desk: demo data, free slots, tickets, reminders.")
app.add_typer(user.app, name="user", help="Staff and expert accounts of the web console.")
app.add_typer(conversations.app, name="conversations", help="Conversations: the retention purge.")
app.add_typer(person.app, name="person", help="A person's data on request: export or erase (GDPR).")
serve.register(app)
answer.register(app)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG.")) -> None:
    """Configure logging once for every command (long-running ones raise it to the setting)."""
    # httpx stays at WARNING whatever the level: the Bot API URL carries the token.
    configure_logging(get_settings(), logging.DEBUG if verbose else logging.WARNING)
