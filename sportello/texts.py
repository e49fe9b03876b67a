"""Where the user-facing texts live (prompts/) and how their named placeholders are filled."""

from __future__ import annotations

import string

from sportello.config import PROJECT_ROOT

PROMPTS_DIR = PROJECT_ROOT / "prompts"


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def fill(template: str, values: dict[str, object], name: str) -> str:
    """Fill every placeholder; a missing or unexpected value is a bug, so it raises."""
    needed = placeholders(template)
    missing = needed - values.keys()
    if missing:
        raise KeyError(f"template {name}: missing values for {sorted(missing)}")
    return template.format(**{k: v for k, v in values.items() if k in needed})
