"""The bot's fixed Italian texts (prompts/telegram.it.yaml), filled with escaped values."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import yaml

from sportello.texts import PROMPTS_DIR, fill

TEXTS_FILE = PROMPTS_DIR / "telegram.it.yaml"
COMMANDS = (
    "start",
    "aiuto",
    "esperto",
    "prenota",
    "appuntamenti",
    "annulla",
    "privacy",
    "cancella_dati",
)


@dataclass(frozen=True)
class Texts:
    """Telegram-HTML templates; every value put into one is escaped here."""

    templates: dict[str, str]
    commands: dict[str, str]

    @classmethod
    def load(cls, path: Path = TEXTS_FILE) -> Texts:
        data = yaml.safe_load(path.read_text("utf-8"))
        commands = {str(k): str(v) for k, v in data.pop("commands").items()}
        missing = set(COMMANDS) - commands.keys()
        if missing:
            raise KeyError(f"{path.name}: commands without a description: {sorted(missing)}")
        return cls({str(k): str(v).strip() for k, v in data.items()}, commands)

    def html(self, key: str, **values: object) -> str:
        """The template `key` with each value HTML-escaped (quotes too: values may sit in href)."""
        escaped: dict[str, object] = {k: html.escape(str(v), quote=True) for k, v in values.items()}
        return fill(self.templates[key], escaped, key)

    def plain(self, key: str, **values: object) -> str:
        """A button label or a callback answer: Telegram shows these verbatim, no HTML."""
        return fill(self.templates[key], dict(values), key)
