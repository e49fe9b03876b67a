"""The settings' checks: URLs, time zone, reminder hours, database URL, and their error text."""

from __future__ import annotations

from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

ENV_PREFIX = "SPORTELLO_"


def url(value: str, *, https: bool = False) -> str:
    if not value:
        return value
    parsed = urlparse(value)
    schemes = ("https",) if https else ("http", "https")
    if parsed.scheme not in schemes or not parsed.hostname:
        raise ValueError(f"non è un indirizzo {'/'.join(schemes)} valido")
    try:
        parsed.port  # noqa: B018  (raises on a port out of range)
    except ValueError as exc:
        raise ValueError("porta non valida nell'indirizzo") from exc
    return value


def seconds_as_text(value: object) -> object:
    """Environment variables are text: "-3600" or "90.5" mean seconds."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"fuso orario sconosciuto '{value}' (es. Europe/Rome)") from exc
    return value


def positive_hours(value: list[int]) -> list[int]:
    if any(h < 1 for h in value):
        raise ValueError("ogni promemoria deve essere almeno 1 ora prima")
    return value


def database_url(value: str) -> str:
    if not value:
        return value
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(value)
    except ArgumentError as exc:
        raise ValueError("non è un URL SQLAlchemy (es. postgresql+psycopg://…)") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError("sono supportati solo SQLite e PostgreSQL")
    return value


def describe_errors(exc: ValidationError) -> str:
    """One line per wrong setting, each naming its environment variable and its value."""
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        variable = ENV_PREFIX + field.upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        value = error.get("input")
        shown = "" if "secret" in field or "token" in field or "key" in field else f"={value!r}"
        lines.append(f"Impostazione non valida {variable}{shown}: {message}")
    return "\n".join(lines)
