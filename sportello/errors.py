"""SportelloError and the ErrorCode catalogue shared by every edge (HTTP, Telegram, CLI).

An error carries a code, a message key and the values for its placeholders, never a sentence:
the texts live in prompts/errors.it.yaml and `sportello.texts.error_text` renders them, at the
edge. To convert an old-style call (mechanical):

    raise SportelloError(ErrorCode.NOT_FOUND, f"Nessun utente «{username}».")
    # becomes, in code:
    raise SportelloError(ErrorCode.NOT_FOUND, "user_not_found", username=username)
    # and, in prompts/errors.it.yaml:
    user_not_found: Nessun utente «{username}».

Keys are snake_case and literal at the call; values are plain data (names, codes, numbers,
preformatted dates), one keyword per placeholder. tests/test_error_texts.py checks every key
exists with the same placeholders, every text is used, and no call passes a sentence.
"""

from __future__ import annotations

from enum import Enum


class ErrorCode(Enum):
    """A stable error code with the HTTP status an edge should answer with."""

    INVALID_INPUT = ("invalid_input", 400)
    UNSUPPORTED_DOCUMENT = ("unsupported_document", 415)
    DOCUMENT_TOO_LARGE = ("document_too_large", 413)
    CORRUPT_DOCUMENT = ("corrupt_document", 422)
    NOT_FOUND = ("not_found", 404)
    CONFLICT = ("conflict", 409)
    FORBIDDEN = ("forbidden", 403)
    UNAUTHORIZED = ("unauthorized", 401)
    SLOT_TAKEN = ("slot_taken", 409)
    ILLEGAL_TRANSITION = ("illegal_transition", 409)
    UNAVAILABLE = ("unavailable", 503)
    TOO_MANY_ATTEMPTS = ("too_many_attempts", 429)
    RATE_LIMITED = ("rate_limited", 429)

    def __init__(self, code: str, status: int) -> None:
        self.code = code
        self.status = status


class SportelloError(Exception):
    """A failure a user can be told about: a code, a message key and the key's values."""

    def __init__(self, code: ErrorCode, key: str, /, **values: object) -> None:
        super().__init__(key)
        self.code = code
        self.key = key
        self.values = values

    @property
    def detail(self) -> str:
        """The message in Italian, rendered from prompts/errors.it.yaml."""
        from sportello.texts import error_text

        return error_text(self.key, self.values)

    def __str__(self) -> str:
        return f"{self.code.code}: {self.detail}"
