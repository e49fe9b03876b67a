"""Each loader on real small files made here; bad files are rejected with a clear reason."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import docx
import pytest
from reportlab.pdfgen import canvas

from sportello.errors import ErrorCode, SportelloError
from sportello.knowledge.documents import Topic
from sportello.knowledge.loading import load_bytes, load_file

MD = """---
title: Il 5 per mille
topic: fiscale
sources:
  - https://www.normattiva.it/x
reviewed: 2026-11-20
audience: volontari
---
# Il 5 per mille

Testo introduttivo.

## Come iscriversi?

Si passa dal RUNTS.
"""


def make_pdf(text_lines: list[str], title: str = "") -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    if title:
        pdf.setTitle(title)
    y = 800
    for line in text_lines:
        pdf.drawString(72, y, line)
        y -= 20
    pdf.save()
    return buffer.getvalue()


def make_docx(title: str, heading: str, body: str) -> bytes:
    document = docx.Document()
    document.add_heading(title, level=0)
    document.add_heading(heading, level=1)
    document.add_paragraph(body)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_markdown_front_matter_is_read() -> None:
    doc = load_bytes(MD.encode(), "cinque.md", "fiscale/cinque")
    assert doc.title == "Il 5 per mille"
    assert doc.topic is Topic.FISCALE
    assert doc.sources == ("https://www.normattiva.it/x",)
    assert doc.reviewed == date(2026, 11, 20)
    assert "## Come iscriversi?" in doc.text
    assert not doc.text.startswith("---")


@pytest.mark.parametrize(
    ("front", "reason"),
    [
        ("title: X\ntopic: sport\nsources: [https://a.it]\nreviewed: 2026-01-01", "topic 'sport'"),
        ("title: X\ntopic: fiscale\nsources: [https://a.it]\nreviewed: ieri", "reviewed"),
        ("title: X\ntopic: fiscale\nreviewed: 2026-01-01", "sources"),
        ("title: X\ntopic: fiscale\nsources: [ftp://a.it]\nreviewed: 2026-01-01", "http"),
        ("title: [unclosed\n", "YAML"),
    ],
)
def test_bad_front_matter_is_rejected_with_reason(front: str, reason: str) -> None:
    with pytest.raises(SportelloError) as err:
        load_bytes(f"---\n{front}\n---\n# T\n\nTesto.".encode(), "bad.md", "bad")
    assert err.value.code is ErrorCode.CORRUPT_DOCUMENT
    assert reason in err.value.detail
    assert "bad.md" in err.value.detail


def test_plain_text_without_front_matter() -> None:
    doc = load_bytes(b"Prima riga.\n\nSeconda riga.", "note_utili.txt", "note")
    assert doc.title == "Note utili"
    assert doc.format == "txt"
    assert doc.topic is None


def test_pdf_text_and_title() -> None:
    data = make_pdf(["Il registro dei volontari e' obbligatorio.", "Seconda riga."], "Volontari")
    doc = load_bytes(data, "volontari.pdf", "volontari")
    assert doc.title == "Volontari"
    assert "registro dei volontari" in doc.text


def test_corrupt_pdf_is_rejected() -> None:
    with pytest.raises(SportelloError) as err:
        load_bytes(b"%PDF-1.4\n garbage \x00\x01 not a pdf", "rotto.pdf", "rotto")
    assert err.value.code is ErrorCode.CORRUPT_DOCUMENT
    assert "rotto.pdf" in err.value.detail


def test_docx_headings_become_markdown() -> None:
    doc = load_bytes(
        make_docx("Guida ODV", "Chi può aderire?", "Almeno sette persone."), "guida.docx", "guida"
    )
    assert doc.title == "Guida ODV"
    assert "## Chi può aderire?" in doc.text
    assert "Almeno sette persone." in doc.text


def test_docx_zip_bomb_is_rejected() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"0" * 60_000_000)
    with pytest.raises(SportelloError) as err:
        load_bytes(buffer.getvalue(), "bomba.docx", "bomba")
    assert "decompresso" in err.value.detail


def test_html_keeps_main_text_and_drops_menus() -> None:
    html = """<html><head><title>Pagina</title></head><body>
    <nav><a href='/'>Home</a> MENU-VOCE</nav>
    <main><h1>Raccolta fondi</h1><h2>Cos'è?</h2><p>Una campagna per un progetto.</p></main>
    <footer>Cookie policy FOOTER</footer><script>alert(1)</script></body></html>"""
    doc = load_bytes(html.encode(), "pagina.html", "pagina")
    assert doc.title == "Raccolta fondi"
    assert "## Cos'è?" in doc.text and "Una campagna per un progetto." in doc.text
    assert "MENU-VOCE" not in doc.text and "FOOTER" not in doc.text and "alert" not in doc.text


def test_binary_with_md_name_is_rejected() -> None:
    with pytest.raises(SportelloError) as err:
        load_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00", "immagine.md", "img")
    assert "binari" in err.value.detail


def test_unsupported_and_too_large(tmp_path: Path) -> None:
    with pytest.raises(SportelloError) as err:
        load_bytes(b"x", "foglio.xlsx", "x")
    assert err.value.code is ErrorCode.UNSUPPORTED_DOCUMENT
    big = tmp_path / "grande.md"
    big.write_text("# T\n\n" + "parola " * 1000)
    with pytest.raises(SportelloError) as err:
        load_file(big, "grande", max_bytes=100)
    assert err.value.code is ErrorCode.DOCUMENT_TOO_LARGE
