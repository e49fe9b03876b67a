"""Load the fixed texts and LLM prompts from prompts/ and fill their named placeholders."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import yaml

from sportello.texts import PROMPTS_DIR, fill, placeholders

__all__ = ["LANGUAGES", "PROMPTS_DIR", "Prompts", "fill", "placeholders"]

LANGUAGES = ("it", "en")


class Prompts:
    """Fixed sentences per language (messages.<lang>.yaml) and text templates (*.txt)."""

    def __init__(self, folder: Path = PROMPTS_DIR) -> None:
        self.folder = folder

    @cached_property
    def messages(self) -> dict[str, dict[str, str]]:
        loaded = {}
        for lang in LANGUAGES:
            data = yaml.safe_load((self.folder / f"messages.{lang}.yaml").read_text("utf-8"))
            loaded[lang] = {k: " ".join(str(v).split()) for k, v in data.items()}
        return loaded

    def text(self, key: str, language: str = "it", **values: object) -> str:
        table = self.messages.get(language) or self.messages["it"]
        template = table.get(key)
        if template is None:
            raise KeyError(f"no message '{key}' in messages.{language}.yaml")
        if "scope" in placeholders(template) and "scope" not in values:
            values["scope"] = table["scope"]
        return fill(template, values, f"{key} ({language})")

    def template(self, name: str, **values: object) -> str:
        return fill((self.folder / name).read_text("utf-8"), values, name)
