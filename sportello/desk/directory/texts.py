"""The staff's fixed Italian sentences about desks, experts and accounts (prompts/admin.it.yaml)."""

from __future__ import annotations

from functools import cache

import yaml

from sportello.errors import ErrorCode, SportelloError
from sportello.texts import PROMPTS_DIR, fill

TEXTS_FILE = PROMPTS_DIR / "admin.it.yaml"


@cache
def _texts() -> dict[str, str]:
    data = yaml.safe_load(TEXTS_FILE.read_text("utf-8"))
    return {str(k): " ".join(str(v).split()) for k, v in data.items()}


def text(key: str, **values: object) -> str:
    """A fixed sentence with its placeholders filled (a missing value is a bug: it raises)."""
    return fill(_texts()[key], dict(values), key)


def error(code: ErrorCode, key: str, **values: object) -> SportelloError:
    """A SportelloError whose detail is the sentence `key` of prompts/admin.it.yaml."""
    return SportelloError(code, text(key, **values))
