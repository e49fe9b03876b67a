"""Every fixed text referenced in code exists in both languages and every placeholder is filled."""

from __future__ import annotations

import re

import pytest

from sportello.answering.prompts import PROMPTS_DIR, Prompts, fill, placeholders
from sportello.config import PROJECT_ROOT

CODE = "\n".join(p.read_text() for p in (PROJECT_ROOT / "sportello").rglob("*.py"))


def test_same_keys_and_placeholders_in_both_languages() -> None:
    prompts = Prompts()
    it, en = prompts.messages["it"], prompts.messages["en"]
    assert it.keys() == en.keys()
    for key in it:
        assert placeholders(it[key]) == placeholders(en[key]), key


def referenced_keys() -> set[str]:
    keys = set(re.findall(r'prompts\.text\(\s*"([a-z_]+)"', CODE))
    keys |= set(re.findall(r'"((?:refuse|escalate|answer)_[a-z_]+|clarify)"', CODE))
    return keys


def test_every_referenced_message_exists() -> None:
    keys = referenced_keys()
    assert {"refuse_injection", "clarify", "escalate_requested", "english_note"} <= keys
    for key in keys:
        for language in ("it", "en"):
            Prompts().text(key, language, length=10, limit=5)  # raises when missing


# Templates are named where code asks for them: `template("x.txt", …)` or the line after.
TEMPLATES = sorted(set(re.findall(r'(?:template|self\.prompts\.\w+)\(\s*"([a-z_]+\.txt)"', CODE)))


def test_the_code_asks_for_templates() -> None:
    assert {"llm_system.txt", "llm_user.txt"} <= set(TEMPLATES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_templates_exist_and_fill(name: str) -> None:
    template = (PROMPTS_DIR / name).read_text()
    values = {p: f"<{p}>" for p in placeholders(template)}
    text = fill(template, values, name)
    assert "{" not in text.replace("{{", "")
    for value in values.values():
        assert value in text


def test_missing_value_is_an_error() -> None:
    with pytest.raises(KeyError):
        Prompts().text("refuse_too_long", "it", length=3)
