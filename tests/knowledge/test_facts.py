"""The fact registry loads, is valid, and every knowledge base document agrees with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from sportello.config import PROJECT_ROOT
from sportello.knowledge.facts import (
    Document,
    Fact,
    Registry,
    facts_used_by,
    find_conflicts,
    load_documents,
    load_registry,
    normalize,
    registry_files,
)
from sportello.knowledge.kb_files import is_indexable

KB = PROJECT_ROOT / "knowledge_base"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return load_registry(KB)


def test_registry_files_include_facts_yaml_and_extra_files() -> None:
    names = [p.name for p in registry_files(KB)]
    assert "facts.yaml" in names
    assert all(n == "facts.yaml" or (n.startswith("facts.") and n.endswith(".yaml")) for n in names)


def test_registry_is_valid(registry: Registry) -> None:
    facts = registry.facts
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert len(facts) >= 70
    ids = [f.id for f in facts]
    assert len(ids) == len(set(ids))
    for fact in facts:
        assert fact.source.startswith(("http://", "https://")), fact.id
        assert fact.checked_on <= tomorrow, f"{fact.id}: checked_on in the future"
        if fact.in_force_from is not None:
            assert fact.in_force_from <= fact.checked_on, fact.id
        assert fact.fact.strip() and fact.rule.strip(), fact.id


def test_registry_is_never_indexed() -> None:
    for path in registry_files(KB):
        assert not is_indexable(path), path.name


def test_every_document_agrees_with_the_registry(registry: Registry) -> None:
    conflicts = find_conflicts(load_documents(KB), registry)
    assert not conflicts, "\n" + "\n".join(c.describe() for c in conflicts)


def _plant(tmp_path: Path, body: str) -> Path:
    kb = tmp_path / "kb"
    (kb / "riforma").mkdir(parents=True)
    for path in registry_files(KB):
        (kb / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    front = "---\ntitle: Prova\ntopic: riforma\nsources: [https://example.org]\nreviewed: 2026-12-02\n---\n"
    (kb / "riforma" / "prova.md").write_text(front + body, encoding="utf-8")
    return kb


def test_a_planted_wrong_number_is_caught(tmp_path: Path) -> None:
    kb = _plant(
        tmp_path,
        "# Prova\n\nUna APS può avere lavoratori fino al 50% dei volontari oppure fino al "
        "12% degli associati.\n\nLe ODV e le APS scelgono il regime forfettario se i ricavi "
        "commerciali non superano 95.000 euro.\n",
    )
    conflicts = find_conflicts(load_documents(kb), load_registry(kb))
    found = {(c.document, c.fact_id, c.found, c.registered) for c in conflicts}
    assert ("riforma/prova.md", "aps-lavoratori-limite-associati", "12%", "20%") in found
    assert ("riforma/prova.md", "forfettario-art86-soglia", "95.000 euro", "85.000 euro") in found
    assert len(conflicts) == 2  # the right "50% dei volontari" is not flagged


def test_a_historical_value_marked_as_old_is_allowed(tmp_path: Path) -> None:
    kb = _plant(
        tmp_path,
        "# Prova\n\nIl forfettario dell'art. 86 vale per le ODV e le APS con ricavi fino a "
        "85.000 euro (prima era 130.000 euro).\n\nIl bilancio si deposita entro 180 giorni "
        "dalla chiusura dell'esercizio; prima della legge 104/2024 si depositava entro il "
        "30 giugno.\n",
    )
    assert find_conflicts(load_documents(kb), load_registry(kb)) == []


def test_an_old_value_not_marked_as_old_is_a_conflict(tmp_path: Path) -> None:
    kb = _plant(
        tmp_path,
        "# Prova\n\nIl rendiconto delle raccolte fondi si deposita al RUNTS con il bilancio "
        "entro il 30 giugno.\n",
    )
    conflicts = find_conflicts(load_documents(kb), load_registry(kb))
    assert [(c.fact_id, c.found) for c in conflicts] == [("bilancio-deposito-termine", "30 giugno")]


def test_facts_used_by_a_document(registry: Registry) -> None:
    text = "Le APS: lavoratori fino al 50% dei volontari o al 20% degli associati."
    used = {f.id for f in facts_used_by(Document("x.md", text), registry)}
    assert {"odv-lavoratori-limite-volontari", "aps-lavoratori-limite-associati"} <= used
    assert facts_used_by("Un testo senza numeri.", registry) == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("20 per cento", "20%"),
        ("85.000 €", "85.000 euro"),
        ("85 mila euro", "85.000 euro"),
        ("1 milione di euro", "1.000.000 euro"),
        ("1° gennaio 2026", "1/1/2026"),
        ("artt. 55", "art. 55"),
        ("100 enti del Terzo settore", "100 ETS"),
    ],
)
def test_normalize_makes_equal_forms_equal(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


def test_a_bad_entry_is_refused() -> None:
    good = {
        "id": "x-y",
        "value": "20%",
        "fact": "f",
        "rule": "r",
        "source": "https://example.org",
        "checked_on": "2026-12-02",
        "match": ["associati"],
        "values_pattern": "@percent",
    }
    Fact.model_validate(good)
    for bad in (
        {"id": "Not A Slug"},
        {"source": "example.org"},
        {"value": "20 euro"},  # not a figure of the fact's kind
        {"match": ["("]},
        {"also_allowed": ["cinque"]},
    ):
        with pytest.raises(ValidationError):
            Fact.model_validate({**good, **bad})
    with pytest.raises(ValidationError):
        Registry(facts=(Fact.model_validate(good), Fact.model_validate(good)))
