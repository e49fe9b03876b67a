"""Logging configured once per process: JSON lines with the request and conversation ids.

Entry points call `configure_logging(settings)`; modules keep `logging.getLogger(__name__)`.
Ids travel in context variables, so a line logged anywhere during a request (also in the
worker threads `asyncio.to_thread` starts, which copy the context) carries them. At INFO we log
what happened and how long it took, never what a person wrote nor who they are.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from sportello.config import Settings

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
conversation_id: ContextVar[str | None] = ContextVar("conversation_id", default=None)

# Attributes every LogRecord has; anything else passed through `extra=` is emitted as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy with ANSI colours
}
# Libraries that are chatty at INFO, or (httpx) log URLs with the Telegram token in them.
_HANDLER_NAME = "sportello"
_QUIET = ("httpx", "httpcore", "bm25s", "chromadb", "uvicorn.access", "telegram", "apscheduler")


def bind_conversation(public_id: str | None) -> None:
    """Tag the log lines that follow in this context with the conversation's public id."""
    conversation_id.set(public_id)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid, cid = request_id.get(), conversation_id.get()
        if rid:
            entry["request_id"] = rid
        if cid:
            entry["conversation_id"] = cid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal, with the same ids."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid, cid = request_id.get(), conversation_id.get()
        parts = [f"req={rid}"] if rid else []
        if cid:
            parts.append(f"conv={cid}")
        record.__dict__["ids"] = f" [{' '.join(parts)}]" if parts else ""
        return super().format(record)


def configure_logging(settings: Settings, level: str | int | None = None) -> None:
    """Send every logger to stderr in the configured format; `level` overrides the setting."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in list(root.handlers):  # ours from an earlier call; pytest's and others' stay
        if old.get_name() == _HANDLER_NAME:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if level is not None else settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn installs its own handlers before loading the app: route them through ours.
        uv = logging.getLogger(name)
        uv.handlers.clear()
        uv.propagate = True
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
