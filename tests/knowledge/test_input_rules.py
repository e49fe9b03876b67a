"""Input that fails loudly: one front-matter rule for every Markdown document, review dates not
in the future, `kb ingest` saying when it is the first (long) run, exiting non-zero on any failure (each printed once), `eval` naming
the bad line of its JSONL and refusing an --out folder that does not exist before any work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sportello.cli import app
from sportello.config import get_settings
from sportello.errors import SportelloError
from sportello.knowledge.loading import load_bytes
from tests.knowledge.test_indexing import write_doc
from tests.knowledge.test_shared_index import cli, env_for


def test_markdown_without_front_matter_is_refused_like_an_incomplete_one() -> None:
    with pytest.raises(SportelloError) as caught:
        load_bytes(b"# Note\n\nUn testo senza front matter.", "note.md", "note")
    assert "front matter" in caught.value.detail
    assert load_bytes(b"Un appunto in testo semplice.", "note.txt", "note").text


@pytest.mark.slow
def test_ingest_reports_each_failure_once_and_exits_non_zero(tmp_path: Path) -> None:
    kb_dir = tmp_path / "kb"
    write_doc(kb_dir, "fiscale/buono.md", "Buono", "## Sezione\n\nUn testo valido sul tema.")
    write_doc(kb_dir, "fiscale/futuro.md", "Futuro", "## Sezione\n\nRevisionato nel futuro.")
    futuro = kb_dir / "fiscale" / "futuro.md"
    futuro.write_text(futuro.read_text().replace("2026-11-20", "2099-01-01"))
    (kb_dir / "fiscale" / "nudo.md").write_text("# Nudo\n\nNessun front matter qui.\n")
    env = env_for(tmp_path, kb_dir, "")
    assert cli(env, "db", "upgrade", cwd=tmp_path).returncode == 0
    done = cli(env, "kb", "ingest", cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Aggiunti 1" in done.stdout and "falliti 2" in done.stdout
    assert "Prima indicizzazione: 3 documenti" in done.stdout  # the first run says why it waits
    assert output.count("futuro.md") == 1 and "nel futuro" in output
    assert output.count("nudo.md") == 1 and "manca il front matter" in output


def run_eval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPORTELLO_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["eval", *args])
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_eval_names_the_bad_line_and_checks_out_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = json.dumps({"id": "q1", "question": "Come ci si iscrive al RUNTS?"})
    cases = {
        '{"question": "manca la graffa"': "riga 2: JSON non valido",
        json.dumps({"domanda": "x"}): "riga 2: manca il campo 'question'",
        json.dumps(["question"]): "riga 2: ogni riga deve essere un oggetto",
        json.dumps({"question": "x", "history": "no"}): "riga 2: 'history'",
    }
    for bad, message in cases.items():
        file = tmp_path / "q.jsonl"
        file.write_text(f"{good}\n{bad}\n")
        code, output = run_eval(tmp_path, monkeypatch, str(file))
        assert code == 1 and message in output, output
    file.write_text(good + "\n")
    code, output = run_eval(tmp_path, monkeypatch, str(file), "--out", "nessuna/out.jsonl")
    assert code == 1 and "La cartella di --out non esiste" in output, output
    assert not (tmp_path / "data").exists()  # nothing ran: no index, no database
