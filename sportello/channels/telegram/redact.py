"""Keep the bot token out of every log line (Bot API URLs carry it; PTB logs them at DEBUG)."""

from __future__ import annotations

import logging

LOGGER_PREFIXES = ("telegram", "httpx", "httpcore")
MASK = "<bot-token>"


class TokenRedactor(logging.Filter):
    """Rewrites a record that mentions the token; attached to the loggers that could."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, MASK), ()
        if record.exc_info and not record.exc_text:
            # Handlers format the traceback from exc_text when it is set: set it, redacted.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.token in record.exc_text:
            record.exc_text = record.exc_text.replace(self.token, MASK)
        return True


def protect_token(token: str) -> None:
    """Redact `token` in the telegram/httpx loggers and keep request logs below WARNING off."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    names = [n for n in logging.root.manager.loggerDict if n.startswith(LOGGER_PREFIXES)]
    for name in {*names, *LOGGER_PREFIXES}:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedactor) and f.token == token for f in logger.filters):
            logger.addFilter(TokenRedactor(token))
