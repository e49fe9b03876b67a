"""Every setting is documented in .env.example and README; README gives the two commands."""

from __future__ import annotations

import re

from sportello.config import PROJECT_ROOT, Settings


def env_names() -> list[str]:
    return [f"SPORTELLO_{name.upper()}" for name in Settings.model_fields]


def test_every_setting_in_env_example() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*(SPORTELLO_[A-Z0-9_]+)=", text, re.MULTILINE))
    missing = [n for n in env_names() if n not in documented]
    assert not missing, f"settings missing from .env.example: {missing}"
    unknown = documented - set(env_names())
    assert not unknown, f".env.example documents settings that do not exist: {unknown}"


def test_every_setting_in_readme() -> None:
    text = (PROJECT_ROOT / "README.md").read_text()
    missing = [n for n in env_names() if f"`{n}`" not in text]
    assert not missing, f"settings missing from README: {missing}"


def test_readme_opens_with_the_two_commands() -> None:
    text = (PROJECT_ROOT / "README.md").read_text()
    first_block = text.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
