"""The production path: a real `chroma run` server on loopback, reached through HttpClient."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sportello.db.engine import make_engine, make_sessionmaker
from sportello.db.migrate import upgrade
from sportello.knowledge.embeddings import Embedder
from sportello.knowledge.service import build_knowledge
from tests.conftest import make_settings
from tests.knowledge.test_indexing import write_doc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """Start `chroma run` on a free loopback port; yield its URL; stop it afterwards."""
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(tmp_path / "chroma-server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("chroma server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.slow
def test_ingest_and_search_through_chroma_server(
    tmp_path: Path, chroma_server: str, embedder: Embedder
) -> None:
    kb_dir = tmp_path / "kb"
    write_doc(
        kb_dir,
        "crowdfunding/equity.md",
        "Crowdfunding di investimento",
        "## Chi vigila?\n\nSulle piattaforme vigilano Consob e Banca d'Italia.",
        topic="crowdfunding",
    )
    settings = make_settings(tmp_path, kb_dir=kb_dir, chroma_url=chroma_server)
    engine = make_engine(settings)
    upgrade(engine)
    kb = build_knowledge(settings, embedder)
    with make_sessionmaker(engine).begin() as session:
        report = kb.indexer.ingest([kb_dir], session=session)
    assert report.added == ["crowdfunding/equity"]
    assert not settings.resolved_chroma_path().exists(), "no embedded store when a URL is set"

    # a second process-like instance sees the same vectors through the server
    other = build_knowledge(
        make_settings(tmp_path / "other", kb_dir=kb_dir, chroma_url=chroma_server), embedder
    )
    assert other.vectors.count() == kb.vectors.count() > 0
    hit = other.retriever.search("chi controlla l'equity crowdfunding?")[0]
    assert hit.chunk.doc_id == "crowdfunding/equity"
    assert "Consob" in hit.chunk.text
