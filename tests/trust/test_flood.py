"""8. Flooding: one browser and one address flood a real server with two uvicorn workers on
SQLite; the workers count together (the limit lives in the database), every refusal is a 429
with Retry-After and the Italian sentence, and no refused message is stored."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from sportello.config import Settings
from sportello.conversations.models import Message, Role
from sportello.db.engine import make_engine
from sportello.knowledge.embeddings import Embedder
from tests.trust.conftest import Cases
from tests.trust.servers import Browser, prepare

pytestmark = [pytest.mark.trust("flood"), pytest.mark.slow]
PER_BROWSER = 15
PER_ADDRESS = 40
# An hour's window: no place frees up while the test runs, so the counts are exact.
LIMITS = {
    "SPORTELLO_RATE_LIMIT_MESSAGES": str(PER_BROWSER),
    "SPORTELLO_RATE_LIMIT_SECONDS": "3600",
    "SPORTELLO_RATE_LIMIT_IP_MESSAGES": str(PER_ADDRESS),
}


def flood(browsers: list[Browser], each: int) -> list[httpx.Response]:
    calls = [
        (b, f"Domanda {n} sul 5 per mille: come ci si iscrive?")
        for b in browsers
        for n in range(each)
    ]
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda c: c[0].post("/api/chat/messages", {"text": c[1]}), calls))


def stored_questions(settings: Settings) -> int:
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            query = select(func.count()).select_from(Message).where(Message.role == Role.USER)
            return int(conn.scalar(query) or 0)
    finally:
        engine.dispose()


def test_a_flood_from_one_browser_and_one_address_across_two_workers(
    indexed_template: Path, tmp_path: Path, embedder: Embedder, cases: Cases
) -> None:
    instance = prepare(indexed_template, tmp_path, embedder, WEB_CONCURRENCY="2", **LIMITS)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    with instance.serve("web") as (base, _):
        one = Browser(base)
        first = flood([one], 25)
        others = [Browser(base) for _ in range(10)]  # the same address (loopback)
        second = flood(others, 5)
        for browser in [one, *others]:
            browser.close()
    cases.add(len(first) + len(second))
    statuses = sorted(r.status_code for r in first)
    assert statuses == [200] * PER_BROWSER + [429] * 10, statuses
    # The address had PER_ADDRESS places; the first browser used PER_BROWSER of them.
    accepted = [r for r in second if r.status_code == 200]
    assert len(accepted) == PER_ADDRESS - PER_BROWSER, sorted(r.status_code for r in second)
    for refused in [r for r in first + second if r.status_code != 200]:
        assert refused.status_code == 429, refused.text[:300]
        assert int(refused.headers["Retry-After"]) >= 1
        body = refused.json()
        assert body["error"] == "rate_limited"
        assert body["detail"].startswith("Stai scrivendo molto velocemente")
    assert stored_questions(settings) == PER_ADDRESS  # nothing refused reached the database
    assert "Traceback" not in instance.log("web")
