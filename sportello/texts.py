"""Where the user-facing texts live (prompts/), how their placeholders are filled, and the
rendering of a SportelloError's message from prompts/errors.it.yaml."""

from __future__ import annotations

import string
from functools import cache

import yaml

from sportello.config import PROJECT_ROOT

PROMPTS_DIR = PROJECT_ROOT / "prompts"
ERRORS_FILE = PROMPTS_DIR / "errors.it.yaml"


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def fill(template: str, values: dict[str, object], name: str) -> str:
    """Fill every placeholder; a missing or unexpected value is a bug, so it raises."""
    needed = placeholders(template)
    missing = needed - values.keys()
    if missing:
        raise KeyError(f"template {name}: missing values for {sorted(missing)}")
    return template.format(**{k: v for k, v in values.items() if k in needed})


@cache
def error_texts() -> dict[str, str]:
    """Message key → Italian template (one line each: YAML folding is undone)."""
    data = yaml.safe_load(ERRORS_FILE.read_text("utf-8"))
    return {str(k): " ".join(str(v).split()) for k, v in data.items()}


def error_text(key: str, values: dict[str, object]) -> str:
    """The text of an error: its key's template filled with its values.

    Transitional: a key with a space is an old-style sentence (a branch written before the
    catalogue) and is shown as it is; tests/test_error_texts.py flags every such call."""
    template = error_texts().get(key)
    if template is None:
        if " " in key:
            return key
        raise KeyError(f"{ERRORS_FILE.name}: no text for error key {key!r}")
    return fill(template, values, key)
