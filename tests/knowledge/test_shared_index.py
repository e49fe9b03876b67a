"""Two real processes share one index: what a CLI ingest, re-index or retirement publishes, a
running searcher (a web worker, the bot) serves within seconds, on both sides of the search,
with embedded Chroma and with a Chroma server; and a document's id never depends on the path
given to the ingest, so a retirement survives any ingest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sportello.config import PROJECT_ROOT
from tests.knowledge.test_chroma_server import chroma_server  # noqa: F401  (fixture)
from tests.knowledge.test_indexing import write_doc

# A long-running process holding the knowledge base: one JSON line in, one JSON line out.
SEARCHER = """
import json, sys
from sportello.config import Settings
from sportello.knowledge.service import build_knowledge
kb = build_knowledge(Settings(_env_file=None))
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    ask = json.loads(line)
    r = kb.retriever
    hits = {"dense": r.dense_search, "lexical": r.lexical_search}[ask["mode"]](ask["q"], 5)
    out = [{"doc": h.chunk.doc_id, "heading": h.chunk.heading, "text": h.chunk.text} for h in hits]
    print(json.dumps(out), flush=True)
"""


def env_for(tmp_path: Path, kb_dir: Path, chroma_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPORTELLO_")}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT),
        HF_HUB_OFFLINE="1",
        SPORTELLO_DATA_DIR=str(tmp_path / "data"),
        SPORTELLO_KB_DIR=str(kb_dir),
        SPORTELLO_CHROMA_URL=chroma_url,
        SPORTELLO_LOG_FORMAT="text",
    )
    return env


def cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`sportello ARGS` in its own process."""
    return subprocess.run(
        [sys.executable, "-c", "from sportello.cli import app; app()", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


class Searcher:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SEARCHER],
            env=env,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert json.loads(self.ask_line()) == {"ready": True}

    def ask_line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, "the searcher process died"
        return line

    def search(self, q: str, mode: str) -> list[dict[str, str]]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"q": q, "mode": mode}) + "\n")
        self.proc.stdin.flush()
        return list(json.loads(self.ask_line()))

    def eventually(self, q: str, mode: str, check: object, seconds: float = 8.0) -> None:
        """Searches until `check(hits)` holds: another process's change arrives within seconds."""
        deadline = time.monotonic() + seconds
        while True:
            hits = self.search(q, mode)
            if check(hits):  # type: ignore[operator]
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{mode} search for {q!r} still answers {hits}")
            time.sleep(0.5)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


@pytest.fixture(params=["embedded", "server"])
def chroma_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "embedded":
        yield ""
    else:
        yield request.getfixturevalue("chroma_server")


@pytest.mark.slow
def test_an_ingest_in_one_process_reaches_a_running_searcher(
    tmp_path: Path, chroma_url: str
) -> None:
    kb_dir = tmp_path / "kb"
    write_doc(
        kb_dir,
        "runts/iscrizione.md",
        "Iscrizione al RUNTS",
        "## Chi presenta la domanda\n\nLa domanda di iscrizione la presenta il legale "
        "rappresentante tramite il portale del registro.",
        topic="runts",
    )
    env = env_for(tmp_path, kb_dir, chroma_url)
    elsewhere = tmp_path / "cron-home"
    elsewhere.mkdir()
    assert cli(env, "db", "upgrade", cwd=elsewhere).returncode == 0
    assert cli(env, "kb", "ingest", cwd=elsewhere).returncode == 0
    searcher = Searcher(env, elsewhere)
    try:
        assert [h["doc"] for h in searcher.search("iscrizione al registro", "dense")] == [
            "runts/iscrizione"
        ]
        # 1. one new file, ingested by path from another directory: same id as a full ingest.
        new = write_doc(
            kb_dir,
            "fiscale/cinque-per-mille.md",
            "Il cinque per mille",
            "## Come si accede\n\nL'ente si accredita al contributo del cinque per mille "
            "presso l'Agenzia delle Entrate entro i termini annuali.",
        )
        done = cli(env, "kb", "ingest", str(new), cwd=elsewhere)
        assert done.returncode == 0 and "Aggiunti 1" in done.stdout, done.stdout + done.stderr
        for mode in ("dense", "lexical"):
            searcher.eventually(
                "accreditamento al cinque per mille",
                mode,
                lambda hits: hits and hits[0]["doc"] == "fiscale/cinque-per-mille",
            )
        # 2. a folder re-indexed with a renamed section: the old heading is gone on both sides.
        write_doc(
            kb_dir,
            "runts/iscrizione.md",
            "Iscrizione al RUNTS",
            "## Chi firma la domanda\n\nLa domanda di iscrizione la firma il legale "
            "rappresentante e la deposita tramite il portale del registro.",
            topic="runts",
        )
        done = cli(env, "kb", "ingest", str(kb_dir / "runts"), cwd=elsewhere)
        assert "aggiornati 1" in done.stdout, done.stdout
        assert "rimossi 0" in done.stdout, done.stdout
        for mode in ("dense", "lexical"):
            searcher.eventually(
                "domanda di iscrizione al registro",
                mode,
                lambda hits: (
                    hits
                    and all(h["heading"] != "Chi presenta la domanda" for h in hits)
                    and any(h["heading"] == "Chi firma la domanda" for h in hits)
                ),
            )
        # 3. a retirement from the CLI leaves the running searcher, and no ingest revives it.
        assert cli(env, "kb", "retire", "runts/iscrizione", cwd=elsewhere).returncode == 0
        for target in (kb_dir / "runts", kb_dir, kb_dir / "runts" / "iscrizione.md"):
            again = cli(env, "kb", "ingest", str(target), cwd=elsewhere)
            assert "Aggiunti 0" in again.stdout and "rimossi 0" in again.stdout, again.stdout
        for mode in ("dense", "lexical"):
            searcher.eventually(
                "domanda di iscrizione al registro",
                mode,
                lambda hits: all(h["doc"] != "runts/iscrizione" for h in hits),
            )
        listed = json.loads(cli(env, "kb", "list", "--json", cwd=elsewhere).stdout)
        assert {d["id"]: d["status"] for d in listed} == {
            "runts/iscrizione": "retired",
            "fiscale/cinque-per-mille": "active",
        }
        # 4. the file deleted, `kb remove` drops what the ingest of a single path cannot.
        new.unlink()
        assert cli(env, "kb", "ingest", str(new), cwd=elsewhere).returncode == 1
        assert cli(env, "kb", "remove", "fiscale/cinque-per-mille", cwd=elsewhere).returncode == 0
        for mode in ("dense", "lexical"):
            searcher.eventually(
                "accreditamento al cinque per mille",
                mode,
                lambda hits: all(h["doc"] != "fiscale/cinque-per-mille" for h in hits),
            )
    finally:
        searcher.close()
