"""Every section of the knowledge base opens with a sentence that stands on its own.

The extractive composer leads a reply with a section's opening, and refuses to lead with a
sentence that points back at something said before ("Questi…", "In questo caso…", "Inoltre…"):
the same rule (sportello.knowledge.discourse.opens_with_reference) checks the documents, so
every section can lead a reply. New documents follow it too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sportello.knowledge.chunking import split_sections
from sportello.knowledge.discourse import opens_with_reference
from sportello.knowledge.loading import load_file
from sportello.knowledge.sentences import split_sentences
from tests.conftest import KB_DIR

DOCUMENTS = sorted(p for p in KB_DIR.rglob("*.md") if p.name != "README.md")


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(KB_DIR)))
def test_every_section_opens_with_a_sentence_that_stands_alone(path: Path) -> None:
    document = load_file(path, str(path.relative_to(KB_DIR)))
    leaning = []
    for section in split_sections(document):
        sentences = split_sentences(section.text)
        if sentences and opens_with_reference(sentences[0]):
            leaning.append(f"{' › '.join(section.path) or '(intro)'}: {sentences[0][:90]}")
    assert not leaning, "sections opening with an unresolved reference:\n" + "\n".join(leaning)


def test_there_are_documents_to_check() -> None:
    assert len(DOCUMENTS) >= 40
