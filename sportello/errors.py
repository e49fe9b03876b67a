"""SportelloError and the ErrorCode catalogue shared by every edge (HTTP, Telegram, CLI)."""

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
    """A failure a user can be told about: a code plus a human-readable detail (Italian)."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.code.code}: {self.detail}"
