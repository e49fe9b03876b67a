"""`kb ingest --rebuild` while another process answers: the rebuild fills a new collection and
switches to it at the end, so the reader never sees an empty or half dense index — through a
real `chroma run` server (HttpClient) and through the embedded folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sportello.config import Settings
from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import upgrade
from sportello.knowledge import queries
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.service import build_knowledge
from tests.conftest import KB_DIR, make_settings
from tests.knowledge.test_chroma_server import chroma_server  # noqa: F401 - fixture

pytestmark = pytest.mark.slow
DOCS = [
    "bilancio/deposito-del-bilancio-al-runts.md",
    "bilancio/bilancio-sociale.md",
    "crowdfunding/crowdfunding-cos-e-e-modelli.md",
]
QUESTION = "Entro quando si deposita il bilancio al RUNTS?"
EXPECTED = "bilancio/deposito-del-bilancio-al-runts"

# The second process: the knowledge base as a web worker builds it, searching in a loop.
READER = """
import json, sys, time
from pathlib import Path
from sportello.config import Settings
from sportello.knowledge.service import build_knowledge
kb = build_knowledge(Settings(_env_file=None))
vector = kb.embedder.embed_query(sys.argv[1])
stop = Path(sys.argv[2])
print("ready", flush=True)
while not stop.exists():
    hits = kb.vectors.query(vector, 5)
    row = {"t": time.monotonic(), "ids": [h.chunk_id for h in hits],
           "collection": kb.vectors.collection_name}
    print(json.dumps(row), flush=True)
    time.sleep(0.02)
"""


def ingest(settings: Settings, embedder: Embedder, *, rebuild: bool) -> None:
    """What `sportello kb ingest [--rebuild]` does."""
    engine = make_engine(settings)
    upgrade(engine)
    kb = build_knowledge(settings, embedder, check_embedder=not rebuild)
    with make_sessionmaker(engine).begin() as session:
        if rebuild:
            kb.indexer.reset()
            for row in queries.documents(session):
                row.content_hash = ""
        report = kb.indexer.ingest([settings.kb_dir], session=session)
    engine.dispose()
    assert not report.failed and len(report.added + report.updated) == 3, report.as_dict()


def reader_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPORTELLO_")}
    env.update(
        SPORTELLO_DATA_DIR=str(settings.data_dir),
        SPORTELLO_KB_DIR=str(settings.kb_dir),
        SPORTELLO_CHROMA_URL=settings.chroma_url,
        SPORTELLO_EMBEDDING_THREADS="1",
        HF_HUB_OFFLINE="1",
    )
    return env


def collect(reader: subprocess.Popen[str], rows: list[dict[str, Any]]) -> None:
    assert reader.stdout is not None
    for line in reader.stdout:
        if line.startswith("{"):
            rows.append(json.loads(line))


def rebuild_while_reading(settings: Settings, embedder: Embedder, tmp_path: Path) -> None:
    for name in DOCS:
        (settings.kb_dir / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(KB_DIR / name, settings.kb_dir / name)
    ingest(settings, embedder, rebuild=False)
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, QUESTION, str(stop)],
        env=reader_env(settings),
        stdout=subprocess.PIPE,
        text=True,
    )
    rows: list[dict[str, Any]] = []
    collecting = threading.Thread(target=collect, args=(reader, rows))
    try:
        assert reader.stdout is not None
        assert reader.stdout.readline().strip() == "ready"
        collecting.start()
        started = time.monotonic()
        ingest(settings, embedder, rebuild=True)
        finished = time.monotonic()
        # The reader notices the new generation (it checks every 2 s) and reopens.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            not rows or rows[-1]["collection"] == rows[0]["collection"]
        ):
            time.sleep(0.1)
    finally:
        stop.touch()
        reader.wait(timeout=60)
        collecting.join(timeout=10)
    during = [r for r in rows if started <= r["t"] <= finished]
    assert len(during) >= 3, f"the reader searched {len(during)} times during the rebuild"
    for row in rows:  # before, during and after: always the whole index
        assert len(row["ids"]) == 5, row
        assert any(i.startswith(EXPECTED) for i in row["ids"]), row
    before, after = rows[0]["collection"], rows[-1]["collection"]
    assert after != before, "the reader never moved to the rebuilt collection"
    assert {r["collection"] for r in during} == {before}  # the live one served throughout


def test_rebuild_on_a_chroma_server_keeps_the_live_index_serving(
    tmp_path: Path,
    chroma_server: str,  # noqa: F811
    embedder: Embedder,
) -> None:
    settings = make_settings(tmp_path, kb_dir=tmp_path / "kb", chroma_url=chroma_server)
    rebuild_while_reading(settings, embedder, tmp_path)


def test_rebuild_on_embedded_chroma_keeps_the_live_index_serving(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = make_settings(tmp_path, kb_dir=tmp_path / "kb")
    rebuild_while_reading(settings, embedder, tmp_path)
