"""1. Hostile documents: corrupt PDF, DOCX zip bomb, huge file, binary with a .md name, bad
encodings, path-traversal names. Each is refused with a clear reason; the rest is indexed."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from sportello.knowledge.admin import uploads_dir
from sportello.knowledge.models import KbDocument
from tests.channels.web.conftest import Web
from tests.channels.web.test_admin import staff, upload
from tests.knowledge.test_loading import make_docx, make_pdf
from tests.trust.conftest import Cases

pytestmark = pytest.mark.trust("input")

GOOD_MD = """---
title: Registro dei volontari occasionali
topic: volontari
sources:
  - https://www.lavoro.gov.it/
reviewed: 2026-10-01
---
# Registro dei volontari occasionali

## Chi va scritto nel registro dei volontari?
Nel registro dei volontari vanno scritti i volontari non occasionali, con nome, cognome,
residenza e data di inizio dell'attività, prima che inizino a operare.
"""


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", b"0" * 60_000_000)  # ~60 KB compressed
    return buffer.getvalue()


def hostile_files() -> dict[str, tuple[bytes, int, str]]:
    """file name → (content, HTTP status of the upload, words the reason must contain)."""
    return {
        "rotto.pdf": (b"%PDF-1.7\n1 0 obj <<>> garbage \x00\xff\xfe trailer", 422, "PDF"),
        "scansione.pdf": (make_pdf([]), 422, "testo"),
        "bomba.docx": (zip_bomb(), 422, "decompresso"),
        "non-zip.docx": (b"PK\x03\x04 but not really a zip archive", 422, "DOCX"),
        "immagine.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), 422, "binari"),
        "latin1.txt": ("Perché l'attività è così".encode("latin-1"), 422, "UTF-8"),
        "vuoto.md": (b"", 400, "vuoto"),
        "solo-spazi.md": (b"   \n\n\t  ", 422, "vuoto"),
        "front-matter.md": (b"---\ntitle: [rotto\n---\n# T\n\ntesto", 422, "YAML"),
        "tema.md": (
            b"---\ntitle: X\ntopic: oroscopo\nsources: [https://a.it]\nreviewed: 2026-01-01\n"
            b"---\n# X\n\nTesto di prova abbastanza lungo.",
            422,
            "topic",
        ),
        "pagina.html": (b"<html><script>alert(1)</script><style>x{}</style></html>", 422, "testo"),
        "programma.exe": (b"MZ\x90\x00\x03", 415, "Formato non ammesso"),
        "finto.pdf": (b"#!/bin/sh\nrm -rf /", 415, "PDF"),
        "enorme.md": (b"# Enorme\n\n" + b"parola " * 1_500_000, 413, "limite"),
    }


def kb_rows(web: Web) -> set[str]:
    with web.services.sessions.begin() as session:
        return set(session.scalars(select(KbDocument.id)))


def test_hostile_uploads_are_refused_with_a_reason_and_the_rest_is_indexed(
    web: Web, cases: Cases
) -> None:
    client, csrf = staff(web)
    web.services.settings.upload_max_bytes = 5_000_000
    before = kb_rows(web)
    for name, (data, status, reason) in hostile_files().items():
        cases.add()
        got, body = upload(client, csrf, name, data)
        assert got == status, (name, got, body)
        assert body["error"] and reason.lower() in body["detail"].lower(), (name, body)
    folder = uploads_dir(web.settings)
    assert not folder.exists() or not list(folder.iterdir()), list(folder.iterdir())
    assert kb_rows(web) == before
    # Good documents in every format are indexed beside the refused ones.
    good = {
        "registro.md": GOOD_MD.encode(),
        "guida.docx": make_docx("Guida ODV", "Chi può aderire?", "Almeno sette persone fisiche."),
        "volontari.pdf": make_pdf(["Il registro dei volontari e' obbligatorio per le ODV."]),
        "pagina.html": b"<html><body><main><h1>Pagina</h1><p>Una campagna di raccolta fondi."
        b"</p></main></body></html>",
    }
    for name, data in good.items():
        cases.add()
        got, body = upload(client, csrf, name, data)
        assert got == 200, (name, body)
    assert kb_rows(web) - before == {"registro", "guida", "volontari", "pagina"}
    hits = client.get("/api/kb/search", params={"q": "chi va scritto nel registro dei volontari"})
    assert hits.json()["results"][0]["doc_id"] == "registro"


TRAVERSALS = [
    "../../../../../tmp/evil.md",
    "..\\..\\..\\Windows\\evil.md",
    "/etc/cron.d/evil.md",
    "C:\\Users\\Public\\evil.md",
    "%2e%2e%2f%2e%2e%2fevil.md",
    "uploads/../../sportello.db.md",
    ".bashrc.md",
    "README.md",
    "_nascosto.md",
    "~/.ssh/authorized_keys.md",
    "evil\u202egnp.md",
    "x" * 250 + ".md",
]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_file_names_never_leave_the_uploads_folder(web: Web, tmp_path: Path, name: str) -> None:
    client, csrf = staff(web)
    root = web.settings.resolved_data_dir().parent
    before = {p for p in root.rglob("*") if p.is_file()}
    got, body = upload(client, csrf, name, GOOD_MD.encode())
    assert got == 200, body
    folder = uploads_dir(web.settings).resolve()
    stored = folder / body["file"]
    assert stored.is_file() and stored.parent == folder
    assert len(body["file"]) <= 90 and "/" not in body["file"] and "\\" not in body["file"]
    created = {p for p in root.rglob("*") if p.is_file()} - before
    outside = [
        p for p in created if not p.resolve().is_relative_to(web.settings.resolved_data_dir())
    ]
    assert not outside, outside
    # Accepted means indexed: the document is listed and found.
    docs = {r["id"] for r in client.get("/api/admin/documents").json()}
    assert body["doc_id"] in docs, (name, body["doc_id"], docs)


def test_an_absurdly_long_file_name_is_refused_cleanly(web: Web) -> None:
    client, csrf = staff(web)
    got, body = upload(client, csrf, "x" * 20_000 + ".md", GOOD_MD.encode())
    assert got in (200, 400), body
    assert body.get("error") or body.get("doc_id")


def test_folder_ingest_reports_each_bad_file_and_indexes_the_rest(
    web: Web, tmp_path: Path, cases: Cases
) -> None:
    folder = tmp_path / "import"
    folder.mkdir()
    bad = {n: d for n, (d, s, _) in hostile_files().items() if s != 415 and d}
    for name, data in {**bad, "registro.md": GOOD_MD.encode()}.items():
        (folder / name).write_bytes(data)
    web.services.knowledge.indexer.max_bytes = 5_000_000
    with web.services.sessions.begin() as session:
        report = web.services.knowledge.indexer.ingest([folder], session=session)
    cases.add(len(bad) + 1)
    failed = dict(report.failed)
    assert set(failed) == set(bad), set(failed) ^ set(bad)
    assert all(reason.strip() for reason in failed.values())
    assert report.added == ["registro"]
