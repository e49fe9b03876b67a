"""The curated knowledge base: valid front matter everywhere, and it answers the dev questions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sportello.knowledge.documents import Topic
from sportello.knowledge.kb_files import is_indexable
from sportello.knowledge.langchain_retriever import SportelloLangChainRetriever
from sportello.knowledge.loading import load_file, parse_front_matter
from sportello.knowledge.service import KnowledgeBase
from tests.conftest import KB_DIR
from tests.golden import golden

KB_FILES = sorted(p for p in KB_DIR.rglob("*.md") if is_indexable(p))


def _meta(path: Path) -> dict[str, Any]:
    """The front matter as the loader reads it (a source address may contain "---")."""
    return parse_front_matter(path.read_text(encoding="utf-8"), path.name)[0]


def test_knowledge_base_is_large_enough() -> None:
    assert len(KB_FILES) >= 45
    covered = {_meta(p)["topic"] for p in KB_FILES}
    assert covered == {t.value for t in Topic}


@pytest.mark.parametrize("path", KB_FILES, ids=lambda p: p.relative_to(KB_DIR).as_posix())
def test_front_matter(path: Path) -> None:
    meta = _meta(path)
    for field in ("title", "topic", "sources", "reviewed", "audience"):
        assert meta.get(field), f"{field} missing"
    assert meta["topic"] in {t.value for t in Topic}
    assert path.parent.name == meta["topic"], "documents live in the folder of their topic"
    assert any(str(s).startswith(("http://", "https://")) for s in meta["sources"])
    document = load_file(path, path.stem)  # the loader's own validation, dates included
    assert document.reviewed is not None
    words = len(document.text.split())
    assert 350 <= words <= 1600, f"{words} words"


@pytest.mark.parametrize("path", KB_FILES, ids=lambda p: p.relative_to(KB_DIR).as_posix())
def test_every_heading_has_its_english_twin(path: Path) -> None:
    """An English question is compared with each section's question in English too
    (sportello.knowledge.headings): a heading without its twin is found only across languages."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if re.match(r"#{1,2} ", line):
            twin = lines[number + 1] if number + 1 < len(lines) else ""
            assert re.fullmatch(r"<!-- en: \S.*\S -->", twin), f"line {number + 1}: {line}"
            is_question = line.rstrip().endswith("?")
            assert twin.endswith("? -->") or not is_question, f"{twin} should ask {line}"


# Fact recall within the top 5 chunks on the golden holdout's answerable questions (with their
# history, the follow-ups are not self-contained: only the self-contained ones count here).
HOLDOUT_RECALL_AT_5 = 0.88  # measured 0.934 by the ranking work (issue 13 note)


def test_fact_recall_at_5_on_the_golden_holdout(real_kb: KnowledgeBase) -> None:
    items = [q for q in golden("holdout", "answer") if not q.get("history")]
    misses = []
    for q in items:
        facts = [str(f) for f in q["expected_facts"]]  # type: ignore[union-attr]
        text = "\n".join(h.chunk.text for h in real_kb.retriever.search(str(q["question"]), 5))
        if not all(re.search(f, text, re.IGNORECASE) for f in facts):
            misses.append(q["id"])
    recall = 1 - len(misses) / len(items)
    assert recall >= HOLDOUT_RECALL_AT_5, f"fact-recall@5 {recall:.2f}, misses {misses}"


def test_langchain_retriever_adapter(real_kb: KnowledgeBase) -> None:
    lc = SportelloLangChainRetriever(retriever=real_kb.retriever, k=3)
    docs = lc.invoke("Quanti associati servono per costituire una ODV?")
    assert len(docs) == 3
    assert docs[0].metadata["doc_id"].startswith("riforma/")
    assert re.search(r"\b7\b|sette", " ".join(d.page_content for d in docs))
