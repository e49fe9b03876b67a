"""Operations in one process: /readyz, /metrics, request ids, JSON logs without message text,
the query-embedding cache and the core count."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi.testclient import TestClient

from sportello.app import create_app
from sportello.channels.web.ops import _check_telegram
from sportello.config import Settings
from sportello.conversations.models import Channel
from sportello.knowledge.cache import CachedEmbedder, available_cores
from sportello.knowledge.embeddings import Embedder
from sportello.logging_setup import configure_logging
from sportello.services import Services, build_services
from sportello.usecases import volunteer
from sportello.usecases.results import AssistantReply, Volunteer
from tests.conftest import make_settings
from tests.knowledge.test_indexing import write_doc

ANSWERED_QUESTION = "Come si iscrive al 5 per mille?"
SECRET_QUESTION = "Zuccherificio Bartolomei di Offida: come si iscrive al 5 per mille?"


@pytest.fixture
def services(tmp_path: Path, embedder: Embedder) -> Iterator[Services]:
    kb = tmp_path / "kb"
    write_doc(
        kb,
        "fiscale/cinque.md",
        "Il 5 per mille",
        "## Come iscriversi al 5 per mille?\n\nGli enti iscritti al RUNTS si iscrivono al "
        "5 per mille con la domanda telematica all'Agenzia delle Entrate entro il 10 aprile.",
    )
    settings = make_settings(tmp_path, kb_dir=kb)
    svc = build_services(settings, embedder=embedder)
    with svc.sessions.begin() as session:
        svc.knowledge.indexer.ingest([kb], session=session)
    yield svc
    svc.engine.dispose()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services.settings, services)) as test_client:
        yield test_client


def test_readyz_checks_database_index_and_telegram(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["index"].startswith("ok (")
    assert body["checks"]["telegram"] == "disabled"
    assert client.get("/healthz").json() == {"status": "ok"}


def test_uptime_monitors_may_use_head_and_405_says_what_is_allowed(client: TestClient) -> None:
    for path in ("/healthz", "/readyz"):
        response = client.head(path)
        assert response.status_code == 200 and not response.content, path
    wrong = client.post("/healthz")
    assert wrong.status_code == 405
    assert set(wrong.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    assert client.delete("/api/kb/search").headers["allow"] == "GET"


def test_readyz_is_503_with_an_empty_index(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(tmp_path, kb_dir=tmp_path / "nothing")
    svc = build_services(settings, embedder=embedder)
    with TestClient(create_app(settings, svc)) as client:
        response = client.get("/readyz")
    svc.engine.dispose()
    assert response.status_code == 503
    assert response.json()["checks"]["index"].startswith("RuntimeError: index empty")
    assert response.json()["checks"]["database"] == "ok"


def test_telegram_readiness_follows_the_bot(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, telegram_token="123:abc")
    svc = SimpleNamespace(settings=settings)
    app = SimpleNamespace(state=SimpleNamespace(telegram=None))
    with pytest.raises(RuntimeError, match="not running"):
        _check_telegram(app, svc)  # type: ignore[arg-type]
    updater = SimpleNamespace(running=True)
    app.state.telegram = SimpleNamespace(running=True, updater=updater)
    assert _check_telegram(app, svc) == "ok (polling)"  # type: ignore[arg-type]
    updater.running = False
    with pytest.raises(RuntimeError, match="polling stopped"):
        _check_telegram(app, svc)  # type: ignore[arg-type]
    app.state.telegram = SimpleNamespace(running=True, updater=None)
    assert _check_telegram(app, svc) == "ok (webhook)"  # type: ignore[arg-type]


def _sample(exposition: str, prefix: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_replies_and_retrieval(client: TestClient) -> None:
    before = client.get("/metrics").text
    csrf = client.get("/api/chat").json()["csrf_token"]
    answer = client.post(
        "/api/chat/messages",
        json={"text": "Come si iscrive al 5 per mille?"},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 200, answer.text
    after = client.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text
    route = (
        'sportello_http_request_duration_seconds_count{method="POST",route="/api/chat/messages"}'
    )
    assert _sample(text, route) == _sample(before, route) + 1
    replies = 'sportello_replies_total{action="answer"}'
    assert _sample(text, replies) == _sample(before, replies) + 1
    retrieval = "sportello_retrieval_duration_seconds_count"
    assert _sample(text, retrieval) >= _sample(before, retrieval) + 1
    assert "sportello_outbox_backlog" in text
    assert "sportello_bookings_total" in text and "sportello_escalations" in text


def test_request_id_is_kept_or_made(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "no spaces <allowed>"})
    assert made.headers["X-Request-ID"] != "no spaces <allowed>"
    assert len(made.headers["X-Request-ID"]) == 32


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Logging configured as in production (JSON, INFO), written to a buffer."""
    root = logging.getLogger()
    level = root.level
    stream = io.StringIO()
    configure_logging(Settings(_env_file=None, log_format="json"))  # type: ignore[call-arg]
    ours = next(h for h in root.handlers if h.get_name() == "sportello")
    ours.setStream(stream)  # type: ignore[attr-defined]
    yield stream
    root.removeHandler(ours)
    root.setLevel(level)


def ask(services: Services, ref: str, text: str) -> AssistantReply:
    first = volunteer.receive_text(services, Volunteer(Channel.WEB, ref), text)[0]
    assert isinstance(first, AssistantReply), first
    return first


def test_info_logs_of_an_exchange_carry_ids_but_no_message_text(
    services: Services, json_log: io.StringIO
) -> None:
    answered = ask(services, "web:x", ANSWERED_QUESTION)
    assert answered.reply.action == "answer"
    # A second exchange on another path (not answered: a person or a refusal), logged alike.
    escalated = ask(services, "web:y", SECRET_QUESTION)
    assert escalated.reply.action != "answer"
    entries = [json.loads(line) for line in json_log.getvalue().splitlines()]
    replies = [e for e in entries if e["logger"] == "sportello.answering.assistant"]
    assert replies, entries
    assert replies[0]["level"] == "INFO"
    assert replies[0]["conversation_id"] == answered.conversation_id
    assert {"time", "level", "logger", "message"} <= set(replies[0])
    logged = json_log.getvalue()
    for word in ("iscrive", "Zuccherificio", "Bartolomei", "Offida", "web:x", "web:y"):
        assert word not in logged


class _Counting:
    name, dim = "fake", 3

    def __init__(self) -> None:
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 3), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        self.calls += 1
        return np.full(3, float(len(text)), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def test_query_cache_is_a_small_lru_of_read_only_vectors() -> None:
    inner = _Counting()
    cached = CachedEmbedder(inner, size=2)  # type: ignore[arg-type]
    first = cached.embed_query("a")
    assert cached.embed_query("a") is first and inner.calls == 1
    assert not first.flags.writeable
    cached.embed_query("bb")
    cached.embed_query("ccc")  # evicts "a", the least recently used
    cached.embed_query("a")
    assert inner.calls == 4 and (cached.hits, cached.misses) == (1, 4)
    assert cached.embed_documents(["x", "y"]).shape == (2, 3)
    assert cached.name == "fake" and cached.dim == 3


def test_available_cores_is_at_least_one() -> None:
    assert 1 <= available_cores() <= (len(__import__("os").sched_getaffinity(0)))


def _rebuild_keywords(path: str, n: int) -> int:
    from sportello.knowledge.documents import Chunk
    from sportello.knowledge.keyword_index import KeywordIndex

    chunks = [
        Chunk(id=f"c{i}", doc_id=f"d{i}", title="Titolo", heading="", text=f"testo {i}", position=0)
        for i in range(n)
    ]
    index = KeywordIndex(Path(path))
    index.rebuild(chunks)
    return len(index)


def test_workers_rebuilding_the_keyword_index_at_once_do_not_collide(tmp_path: Path) -> None:
    """Web workers starting together on an empty data folder each rebuild BM25 from Chroma."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from sportello.knowledge.keyword_index import KeywordIndex

    path = str(tmp_path / "bm25")
    with ProcessPoolExecutor(6, mp_context=multiprocessing.get_context("spawn")) as pool:
        sizes = list(pool.map(_rebuild_keywords, [path] * 12, [3000] * 12))
    assert sizes == [3000] * 12
    reopened = KeywordIndex(Path(path))
    assert reopened.load() and len(reopened) == 3000
