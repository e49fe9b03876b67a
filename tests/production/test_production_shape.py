"""The production shape for real: PostgreSQL, a `chroma run` server and two app processes.

Every command is the one docker-compose.yml runs (bench/servers.py reads them from the file):
the `migrate` one-shot prepares a fresh PostgreSQL database and ingests into the Chroma
server; two `web` processes (`sportello serve`, two workers in the first, each on a socket of
its own) serve with data folders of their own, so all they share is PostgreSQL and Chroma. A
volunteer opens a ticket through one process; an expert logs in and claims it through the
other.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.servers import app_env, chroma_server, run_migrate, web_server
from tests.conftest import KB_DIR, create_pg_database, drop_pg_database
from tests.test_serving import listening_workers, port_of, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

KB_SUBSET = [
    "fiscale/cinque-per-mille-chi-puo-accedere-e-iscrizione.md",
    "runts/iscrizione-al-runts-procedura-e-documenti.md",
]
QUESTION = "Come si iscrive un ente al 5 per mille?"
CASE = "Siamo una ODV di Fermo con un dubbio sul 5 per mille del 2025."
PASSWORD = "una-password-lunga-1"
COLD_START = 300  # seconds a cold web process may take to answer /readyz here


@pytest.fixture
def database_url() -> Iterator[str]:
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


def post(client: httpx.Client, path: str, csrf: str, body: dict[str, object]) -> dict:  # type: ignore[type-arg]
    response = client.post(path, json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
    return response.json()  # type: ignore[no-any-return]


def open_written_ticket(base: str) -> str:
    """A volunteer asks, then hands over to an expert in writing; returns the ticket code."""
    with httpx.Client(base_url=base, timeout=30) as volunteer:
        csrf = volunteer.get("/api/chat").json()["csrf_token"]
        answer = post(volunteer, "/api/chat/messages", csrf, {"text": QUESTION})
        assert answer["message"]["citations"], answer
        step = post(volunteer, "/api/chat/handover/start", csrf, {"topic": "fiscale"})
        assert step["step"] == "confirm_topic", step
        assert (
            post(volunteer, "/api/chat/handover/choose", csrf, {"key": "topic:yes"})["step"]
            == "describe_case"
        )
        described = post(volunteer, "/api/chat/messages", csrf, {"text": CASE})
        assert described["handover"]["step"] == "choose_mode", described
        done = post(volunteer, "/api/chat/handover/choose", csrf, {"key": "mode:written"})
        assert done["step"] == "done" and done["ticket_code"], done
        return str(done["ticket_code"])


def test_two_processes_share_one_database_and_one_chroma(tmp_path: Path, database_url: str) -> None:
    kb = tmp_path / "kb"
    for name in KB_SUBSET:
        (kb / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(KB_DIR / name, kb / name)
    logs = tmp_path / "logs"
    logs.mkdir()

    with chroma_server(tmp_path, logs) as chroma_url:
        common = {
            "SPORTELLO_DATABASE_URL": database_url,
            "SPORTELLO_CHROMA_URL": chroma_url,
            "SPORTELLO_KB_DIR": kb,
            "SPORTELLO_TELEGRAM_TOKEN": "",
            "SPORTELLO_LOG_FORMAT": "json",
        }
        output = run_migrate(app_env(**common, SPORTELLO_DATA_DIR=tmp_path / "migrate"), tmp_path)
        assert "Database aggiornato" in output

        envs = []
        for name, workers in (("a", "2"), ("b", "1")):
            metrics_dir = tmp_path / f"prometheus-{name}"
            metrics_dir.mkdir()
            envs.append(
                app_env(
                    **common,
                    SPORTELLO_DATA_DIR=tmp_path / f"data-{name}",
                    WEB_CONCURRENCY=workers,
                    SPORTELLO_EMBEDDING_THREADS="1",
                    PROMETHEUS_MULTIPROC_DIR=metrics_dir,
                )
            )
        subprocess.run(
            [
                "sportello",
                "user",
                "add",
                "luca",
                "--role",
                "expert",
                "--expert-id",
                "luca-bianchi",
                "--password-stdin",
            ],
            input=PASSWORD + "\n",
            env=envs[1],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )

        # Both start cold (data folders of their own): each reads the shipped example vectors
        # and trains the intent models once (the two workers of `a` share that work), on a
        # 2-core machine that may be busy with other tests (the real-KB ingest runs niced).
        with (
            web_server(envs[0], tmp_path, logs / "web-a.log", timeout=COLD_START) as (a, server_a),
            web_server(envs[1], tmp_path, logs / "web-b.log", timeout=COLD_START) as (b, _),
        ):
            # WEB_CONCURRENCY=2: two workers, each listening on a socket of its own.
            two = wait_until(
                lambda: listening_workers(server_a.pid, port_of(a)), within=120, count=2
            )
            first, second = two.values()
            assert not first & second, two

            for base in (a, b):
                ready = httpx.get(f"{base}/readyz", timeout=10).json()
                assert ready["status"] == "ready", ready
                assert ready["checks"]["telegram"] == "disabled"
                assert ready["checks"]["index"].startswith("ok")

            code = open_written_ticket(a)

            with httpx.Client(base_url=b, timeout=30) as expert:
                me = expert.post("/api/auth/login", json={"username": "luca", "password": PASSWORD})
                assert me.status_code == 200, me.text
                token = me.json()["csrf_token"]
                queue = expert.get("/api/console/tickets").json()["tickets"]
                ticket = next(t for t in queue if t["code"] == code)
                claimed = post(expert, f"/api/console/tickets/{ticket['id']}/claim", token, {})
                assert claimed["status"] == "assigned"

                # The session lives in PostgreSQL: the same cookie works on the other process,
                # which sees the claim made through this one.
                seen = httpx.get(
                    f"{a}/api/console/tickets/{ticket['id']}", cookies=expert.cookies, timeout=30
                )
                assert seen.status_code == 200, seen.text
                assert seen.json()["ticket"]["status"] == "assigned"

            exposition = httpx.get(f"{a}/metrics", timeout=10).text
            assert re.search(r'sportello_escalations_total\{channel="web"\} 1\.0', exposition)
            assert re.search(r'sportello_replies_total\{action="answer"\} 1\.0', exposition)
            assert 'route="/api/chat/messages"' in exposition
            assert "sportello_outbox_backlog" in exposition

    lines = [
        json.loads(line)
        for line in (logs / "web-a.log").read_text().splitlines()
        if line.startswith("{")
    ]
    requests = [e for e in lines if e.get("route") == "/api/chat/messages"]
    assert requests and all(e["request_id"] for e in requests)
    text = (logs / "web-a.log").read_text()
    assert "5 per mille" not in text and "Fermo" not in text, "no message text in the logs"
