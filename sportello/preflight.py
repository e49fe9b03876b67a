"""Start-up checks: the database and Chroma answer, and failures become one line in words.

A configuration error (a wrong setting, PostgreSQL down, Chroma unreachable) is the operator's
to fix, not a bug: `sportello …`, `sportello serve` and the web workers print one line naming
the environment variable instead of a traceback.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError

from sportello.config import ConfigError, Settings


def shown_database(settings: Settings) -> str:
    """The database URL without its password, for messages."""
    return make_url(settings.resolved_database_url()).render_as_string(hide_password=True)


def startup_message(exc: BaseException, settings: Settings | None = None) -> str | None:
    """The one-line explanation of a configuration error; None for anything else (a bug)."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, OperationalError | InterfaceError):
        where = f" ({shown_database(settings)})" if settings else ""
        reason = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0]
        return (
            f"Database non raggiungibile{where}: {reason}. "
            "Controlla SPORTELLO_DATABASE_URL e che il server sia avviato."
        )
    if isinstance(exc, ArgumentError | NoSuchModuleError):
        return f"SPORTELLO_DATABASE_URL non utilizzabile: {exc}"
    return None


def check_backends(settings: Settings) -> None:
    """Connect to the database and to Chroma once; raise ConfigError in words if either fails."""
    from sportello.db.engine import make_engine, ping
    from sportello.knowledge.vector_store import make_chroma_client

    engine = make_engine(settings)
    try:
        ping(engine)
    except (OperationalError, InterfaceError) as exc:
        raise ConfigError(startup_message(exc, settings) or str(exc)) from None
    finally:
        engine.dispose()
    make_chroma_client(settings)
