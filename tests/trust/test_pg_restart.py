"""6. PostgreSQL restarted under load: requests fail cleanly while it is away, then recover.

The server (compose command, two workers) runs on a PostgreSQL cluster of this test's own
(tests/trust/servers.py): stopping the machine's shared server would break whatever else is
using it at that moment, so this test never touches it (marked `serial` all the same: it
stops a server). Browsers keep asking questions, loading the chat page and the experts'
queue while the database goes down for a few seconds and comes back. Every answer is a 200
or a 503 that says so — JSON `{"error": "unavailable"}` under /api/, an error page elsewhere,
never a 500 nor a traceback — and once the database is back every request succeeds again.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from sportello.knowledge.embeddings import Embedder
from tests.channels.web.conftest import PASSWORD
from tests.trust.conftest import Cases
from tests.trust.servers import Browser, prepare, private_postgres, staff_login

pytestmark = [pytest.mark.trust("faults"), pytest.mark.serial, pytest.mark.slow]
CLIENTS = 6
DOWN_FOR = 3.0


def test_postgres_restart_under_load(
    indexed_template: Path, tmp_path: Path, embedder: Embedder, cases: Cases
) -> None:
    with private_postgres() as pg:
        instance = prepare(
            indexed_template, tmp_path, embedder, database_url=pg.url, WEB_CONCURRENCY="2"
        )
        with instance.serve("web") as (base, _):
            expert, token = staff_login(base, instance.people.expert, PASSWORD)
            browsers = [Browser(base) for _ in range(CLIENTS)]
            seen: list[tuple[float, str, int, str, str]] = []
            lock = threading.Lock()
            stop = threading.Event()

            def load(browser: Browser, n: int) -> None:
                requests: list[tuple[str, Callable[[], httpx.Response]]] = [
                    (
                        "ask",
                        lambda: browser.post(
                            "/api/chat/messages", {"text": "Come si iscrive un ente al RUNTS?"}
                        ),
                    ),
                    ("page", lambda: browser.http.get("/")),
                    ("state", lambda: browser.http.get("/api/chat")),
                    ("queue", lambda: expert.get("/api/console/tickets")),
                    (
                        "stream",
                        lambda: browser.http.post(
                            "/api/chat/messages",
                            json={"text": "Quali documenti servono per il 5 per mille?"},
                            headers={"X-CSRF-Token": browser.csrf, "Accept": "text/event-stream"},
                        ),
                    ),
                ]
                i = n
                while not stop.is_set():
                    name, call = requests[i % len(requests)]
                    i += 1
                    try:
                        response = call()
                        row = (
                            time.monotonic(),
                            name,
                            response.status_code,
                            response.headers.get("content-type", ""),
                            response.text,
                        )
                    except httpx.HTTPError as exc:  # a connection cut would be a failure too
                        row = (time.monotonic(), name, -1, "", repr(exc))
                    with lock:
                        seen.append(row)

            threads = [threading.Thread(target=load, args=(b, n)) for n, b in enumerate(browsers)]
            for thread in threads:
                thread.start()
            time.sleep(2.0)
            down_at = time.monotonic()
            pg.restart(down_for=DOWN_FOR)
            up_at = time.monotonic()
            time.sleep(6.0)
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            # Recovered: a new volunteer goes through a whole hand-over.
            fresh = Browser(base)
            assert fresh.ok("/api/chat/messages", {"text": "Come si iscrive un ente al RUNTS?"})
            assert fresh.to_confirm("Siamo una APS di Ascoli: ci serve aiuto col 5 per mille.")
            assert expert.get("/api/console/tickets").status_code == 200
            assert (
                expert.post("/api/auth/logout", headers={"X-CSRF-Token": token}).status_code == 200
            )

    cases.add(len(seen))
    statuses = Counter((name, status) for _, name, status, _, _ in seen)
    bad = [
        (name, status, body[:300]) for _, name, status, _, body in seen if status not in (200, 503)
    ]
    assert bad == [], bad
    unavailable = [row for row in seen if row[2] == 503]
    assert unavailable, f"the outage was never seen: {statuses}"
    for _, name, _, ctype, body in unavailable:
        assert "Traceback" not in body
        if name == "page":
            assert ctype.startswith("text/html") and "Servizio non disponibile" in body
        else:
            assert ctype.startswith("application/json") and '"unavailable"' in body, body[:300]
    streams = [body for _, name, status, _, body in seen if name == "stream" and status == 200]
    assert all('"internal"' not in body for body in streams)
    # Every request sent a second after the database was back succeeded.
    late = [row for row in seen if row[0] > up_at + 1.0]
    assert late and all(row[2] == 200 for row in late), Counter(r[2] for r in late)
    assert all(row[2] == 200 for row in seen if row[0] < down_at - 0.5)
