"""Errors carry codes and keys, the texts live in prompts/errors.it.yaml: every key raised in
sportello/ has a text with the same placeholders, every text is used, and no call passes a
sentence (read from the source with `ast`, like tests/test_architecture.py)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from sportello.errors import ErrorCode, SportelloError
from sportello.texts import error_text, error_texts, placeholders

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sportello"
KEY = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Raised:
    where: str
    key: str | None  # None: not a literal string
    values: frozenset[str]
    splat: bool  # **values: the names cannot be read


def _is_error_code(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "ErrorCode"
    )


def _raised(tree: ast.AST, where: str) -> list[Raised]:
    """Every call whose first argument is an `ErrorCode.X`: SportelloError, its subclasses'
    `super().__init__`, and any helper that builds one."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args and _is_error_code(node.args[0])):
            continue
        second = node.args[1] if len(node.args) > 1 else None
        key = second.value if isinstance(second, ast.Constant) else None
        found.append(
            Raised(
                f"{where}:{node.lineno}",
                key if isinstance(key, str) else None,
                frozenset(k.arg for k in node.keywords if k.arg is not None),
                any(k.arg is None for k in node.keywords),
            )
        )
    return found


def raised_in_package() -> list[Raised]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(ROOT))
        found += _raised(ast.parse(path.read_text("utf-8")), where)
    return found


def test_the_scan_finds_the_calls() -> None:
    # The scan is the rule: if it found nothing, every check below would pass vacuously.
    assert len(raised_in_package()) > 100


def test_every_call_names_a_key_not_a_sentence() -> None:
    wrong = [r.where for r in raised_in_package() if r.key is None or not KEY.match(r.key)]
    assert not wrong, (
        f"SportelloError takes a literal message key (snake_case), not a sentence: {wrong} — "
        "move the text to prompts/errors.it.yaml (see the top of sportello/errors.py)"
    )


def test_every_key_has_a_text_with_the_same_placeholders() -> None:
    texts = error_texts()
    problems = []
    for r in raised_in_package():
        if r.key is None or not KEY.match(r.key):
            continue  # reported by the test above
        if r.key not in texts:
            problems.append(f"{r.where}: no text for {r.key!r}")
        elif r.splat:
            problems.append(f"{r.where}: pass the values of {r.key!r} by name, not **mapping")
        elif r.values != placeholders(texts[r.key]):
            problems.append(
                f"{r.where}: {r.key!r} given {sorted(r.values)}, "
                f"its text needs {sorted(placeholders(texts[r.key]))}"
            )
    assert not problems, problems


def test_every_text_is_used() -> None:
    used = {r.key for r in raised_in_package()}
    dead = sorted(error_texts().keys() - used)
    assert not dead, f"texts in prompts/errors.it.yaml no code raises: {dead}"


def test_the_scan_catches_an_old_style_call() -> None:
    source = 'raise SportelloError(ErrorCode.NOT_FOUND, f"Nessun utente «{name}».")'
    (found,) = _raised(ast.parse(source), "scratch")
    assert found.key is None
    source = 'raise SportelloError(ErrorCode.NOT_FOUND, "Nessun utente.")'
    (found,) = _raised(ast.parse(source), "scratch")
    assert found.key == "Nessun utente." and not KEY.match(found.key)


def test_an_error_renders_its_text_from_the_catalogue() -> None:
    error = SportelloError(ErrorCode.CONFLICT, "ticket_of_colleague", code="SP-2026-0001")
    assert error.key == "ticket_of_colleague"
    assert error.values == {"code": "SP-2026-0001"}
    assert error.detail == "Il ticket SP-2026-0001 è di un collega."
    assert str(error) == "conflict: Il ticket SP-2026-0001 è di un collega."


def test_a_missing_value_or_an_unknown_key_is_a_bug() -> None:
    with pytest.raises(KeyError, match="missing values"):
        error_text("ticket_of_colleague", {})
    with pytest.raises(KeyError, match="no text"):
        error_text("no_such_key", {})
