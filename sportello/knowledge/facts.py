"""The fact registry (knowledge_base/facts*.yaml) and the check that documents agree with it.

Each registered fact is one figure the knowledge base relies on (a threshold, a deadline, a
percentage, an article number). A document *claims* a figure for a fact when a sentence contains
all the fact's `match` patterns and a number of the fact's kind sits near the first of them (the
anchor). A claim that differs from the registered value is a conflict, unless it is an
`also_allowed` (old) value that the sentence marks as past ("prima", "era", ...).

The matching is deliberately crude: it catches two documents stating different numbers for the
same rule, not every possible phrasing. It needs no database and no model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sportello.knowledge.kb_files import is_indexable

REGISTRY_GLOB = "facts*.yaml"
DEFAULT_WINDOW = 60

_MONTHS = (
    "gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre"
)
_NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"
# Presets for `values_pattern`; a fact may also give its own regex.
PRESETS: dict[str, str] = {
    "@percent": rf"(?:{_NUM})\s*(?:%|per\s*cento)",
    "@euro": (
        rf"(?:€\s*(?:{_NUM})(?:\s*(?:mila|milioni|milione))?)"
        rf"|(?:(?:{_NUM})\s*(?:mila|milioni|milione)?\s*(?:di\s+)?(?:euro|€))"
    ),
    "@days": rf"(?:{_NUM})\s*giorni",
    "@months": rf"(?:{_NUM})\s*mesi",
    "@years": rf"(?:{_NUM})\s*anni",
    "@date": rf"\d{{1,2}}°?\s*(?:{_MONTHS})(?:\s+\d{{4}})?|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}",
    "@article": r"\bartt?\.\s*\d+(?:-(?:bis|ter|quater))?",
    "@number": rf"(?<![\w.,])(?:{_NUM})(?![\w%])",
    "@ratio": r"\b1\s*(?:a|:)\s*\d+\b",
}

# Words that mark a figure as old when they sit shortly before it (or "da X a Y").
_PAST_MARKERS = re.compile(
    r"\b(?:prima|era|erano|in passato|non (?:è |sono )?più|vecchi[aoe]?|precedent[ei]|"
    r"originari[ao]?|fino al \d{4}|fino a(?:l)? (?:\d{1,2} \w+ )?\d{4}|ancora|riportavano|"
    r"indicavano|diceva|dicevano|sostituit[oa]|superat[oa]|divers[aoie])\b",
    re.IGNORECASE,
)
_FROM_TO = re.compile(r"\bda\s*$", re.IGNORECASE)
# Sentence boundaries: end of line, or . ! ? followed by space and a capital letter.
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀÈÉÌÒÙ\"«(])|\n+")
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as err:
        raise ValueError(f"invalid regex {pattern!r}: {err}") from None


class Fact(BaseModel):
    """One registered figure and how to recognise it in a document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    value: str
    fact: str
    rule: str
    source: str
    in_force_from: date | None = None
    checked_on: date
    match: tuple[str, ...] = Field(min_length=1)
    values_pattern: str
    also_allowed: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    window: int = Field(DEFAULT_WINDOW, ge=5, le=400)
    registry: str = ""  # the file it came from (filled by the loader)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(f"id {value!r} is not a slug (a-z, 0-9, '-')")
        return value

    @field_validator("source")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://\S+$", value):
            raise ValueError(f"source {value!r} is not an http(s) URL")
        return value

    @field_validator("match", "exclude")
    @classmethod
    def _regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            _compile(pattern)
        return value

    @field_validator("values_pattern")
    @classmethod
    def _values_regex(cls, value: str) -> str:
        _compile(PRESETS.get(value, value))
        return value

    @model_validator(mode="after")
    def _value_has_its_kind(self) -> Fact:
        pattern = self.compiled_values
        if not pattern.fullmatch(self.value.strip()):
            raise ValueError(
                f"{self.id}: value {self.value!r} does not match values_pattern "
                f"{self.values_pattern!r}"
            )
        for old in self.also_allowed:
            if not pattern.fullmatch(old.strip()):
                raise ValueError(f"{self.id}: also_allowed {old!r} does not match values_pattern")
        return self

    @cached_property
    def compiled_values(self) -> re.Pattern[str]:
        return re.compile(PRESETS.get(self.values_pattern, self.values_pattern), re.IGNORECASE)

    @cached_property
    def compiled_match(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p, re.IGNORECASE) for p in self.match)

    @cached_property
    def compiled_exclude(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p, re.IGNORECASE) for p in self.exclude)

    @cached_property
    def normalized_value(self) -> str:
        return normalize(self.value)

    @cached_property
    def normalized_old(self) -> frozenset[str]:
        return frozenset(normalize(v) for v in self.also_allowed)


class Registry(BaseModel):
    """All facts from every facts*.yaml file of a knowledge base folder."""

    model_config = ConfigDict(frozen=True)

    facts: tuple[Fact, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> Registry:
        seen: dict[str, str] = {}
        for fact in self.facts:
            if fact.id in seen:
                raise ValueError(
                    f"duplicate fact id {fact.id!r} ({seen[fact.id]} and {fact.registry})"
                )
            seen[fact.id] = fact.registry
        return self

    def get(self, fact_id: str) -> Fact | None:
        return next((f for f in self.facts if f.id == fact_id), None)


@dataclass(frozen=True)
class Claim:
    """A figure a document states for a registered fact."""

    fact_id: str
    found: str
    sentence: str


@dataclass(frozen=True)
class Conflict:
    document: str
    fact_id: str
    found: str
    registered: str
    sentence: str

    def describe(self) -> str:
        return (
            f"{self.document}: fact {self.fact_id!r} states {self.found!r}, registered "
            f"{self.registered!r} — «{self.sentence.strip()[:200]}»"
        )


@dataclass(frozen=True)
class Document:
    name: str  # e.g. "riforma/associazioni-di-promozione-sociale-aps.md"
    text: str


def registry_files(kb_dir: Path) -> list[Path]:
    return sorted(p for p in kb_dir.glob(REGISTRY_GLOB) if p.is_file())


def load_registry(kb_dir: Path) -> Registry:
    """Read facts.yaml and every facts.*.yaml in `kb_dir` (validated; ids unique across files)."""
    facts: list[Fact] = []
    for path in registry_files(kb_dir):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or not isinstance(data.get("facts"), list):
            raise ValueError(f"{path.name}: expected a mapping with a 'facts' list")
        for entry in data["facts"]:
            if not isinstance(entry, dict):
                raise ValueError(f"{path.name}: every fact must be a mapping")
            facts.append(Fact.model_validate({**entry, "registry": path.name}))
    return Registry(facts=tuple(facts))


def load_documents(kb_dir: Path) -> list[Document]:
    """The Markdown documents the registry is checked against (the fact sheet README excluded)."""
    return [
        Document(path.relative_to(kb_dir).as_posix(), path.read_text(encoding="utf-8"))
        for path in sorted(kb_dir.rglob("*.md"))
        if is_indexable(path)
    ]


_MONTH_NAMES = _MONTHS.split("|")


def _spelled_date(match: re.Match[str]) -> str:
    day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    if not 1 <= month <= 12:
        return match.group(0)
    return f"{day} {_MONTH_NAMES[month - 1]} {year}"


_WORD_NUMBERS = {"mila": 1_000, "milione": 1_000_000, "milioni": 1_000_000}


def normalize(raw: str) -> str:
    """A comparable form: '20 per cento' → '20%', '85.000 €' → '85000€', '1° gennaio' → '1 gennaio'."""
    text = raw.lower().strip()
    text = re.sub(r"\bartt\.", "art.", text)
    text = text.replace("enti del terzo settore", "ets")
    text = re.sub(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b", _spelled_date, text)
    text = re.sub(r"per\s*cento", "%", text)
    text = text.replace("°", "")
    text = re.sub(r"\bdi\s+(?=euro|€)", "", text)
    text = text.replace("euro", "€")
    multiplier = 1
    for word, factor in _WORD_NUMBERS.items():
        if re.search(rf"\b{word}\b", text):
            multiplier = factor
            text = re.sub(rf"\b{word}\b", "", text)

    def number(match: re.Match[str]) -> str:
        digits = match.group(0)
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", digits):
            digits = digits.replace(".", "")
        value = float(digits.replace(",", ".")) * multiplier
        return f"{value:.2f}".rstrip("0").rstrip(".")

    text = re.sub(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?", number, text)
    text = re.sub(r"\s+", "", text)
    if "€" in text:
        text = text.replace("€", "") + "€"
    return text


def _body(text: str) -> str:
    return _FRONT_MATTER.sub("", text, count=1)


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_SPLIT.split(_body(text)) if s.strip()]


def _marked_old(sentence: str, start: int) -> bool:
    """An old figure passes when a past marker sits just before it or opens the sentence."""
    before = sentence[max(0, start - 60) : start]
    opening = sentence[: min(start, 20)]
    return bool(
        _PAST_MARKERS.search(before) or _FROM_TO.search(before) or _PAST_MARKERS.search(opening)
    )


def claims(fact: Fact, text: str) -> list[Claim]:
    """Every figure of the fact's kind that the text states next to the fact's words."""
    found: list[Claim] = []
    for sentence in sentences(text):
        if not all(p.search(sentence) for p in fact.compiled_match):
            continue
        if any(p.search(sentence) for p in fact.compiled_exclude):
            continue
        values = [m for m in fact.compiled_values.finditer(sentence)]
        if not values:
            continue
        picked: set[int] = set()
        for anchor in fact.compiled_match[0].finditer(sentence):
            best = min(
                values,
                key=lambda m: (_distance(m, anchor), 0 if m.start() < anchor.start() else 1),
            )
            if _distance(best, anchor) <= fact.window and best.start() not in picked:
                picked.add(best.start())
                found.append(Claim(fact.id, best.group(0), sentence))
    return found


def _distance(value: re.Match[str], anchor: re.Match[str]) -> int:
    if value.end() <= anchor.start():
        return anchor.start() - value.end()
    if anchor.end() <= value.start():
        return value.start() - anchor.end()
    return 0


def _conflicts_in(fact: Fact, document: Document) -> Iterable[Conflict]:
    for claim in claims(fact, document.text):
        normalized = normalize(claim.found)
        if normalized == fact.normalized_value:
            continue
        if normalized in fact.normalized_old and _marked_old(
            claim.sentence, claim.sentence.find(claim.found)
        ):
            continue
        yield Conflict(document.name, fact.id, claim.found, fact.value, claim.sentence)


def find_conflicts(documents: Iterable[Document], registry: Registry) -> list[Conflict]:
    """Every place where a document states a different figure for a registered fact."""
    docs = list(documents)
    return [
        conflict for fact in registry.facts for doc in docs for conflict in _conflicts_in(fact, doc)
    ]


def facts_used_by(document: Document | str, registry: Registry) -> list[Fact]:
    """The registered facts whose figure the document states (right or wrong)."""
    text = document.text if isinstance(document, Document) else document
    return [fact for fact in registry.facts if claims(fact, text)]
