"""The app as a real server for the trust suite: uvicorn subprocesses on loopback, a private
PostgreSQL instance that can be restarted, and a volunteer's browser driven over HTTP.

The uvicorn command is docker-compose's (bench/servers.py reads it from the file); the data
folder is a copy of the web tests' small indexed knowledge base.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.servers import app_env, web_server
from sportello.clock import SystemClock
from sportello.config import Settings
from sportello.knowledge.embeddings import Embedder
from tests.channels.web.conftest import People, build_web
from tests.desk.factory import World

PG_BIN = (
    Path("/usr/lib/postgresql")
    / (sorted(os.listdir("/etc/postgresql"))[0] if os.path.isdir("/etc/postgresql") else "15")
    / "bin"
)


@dataclass
class Instance:
    """A prepared data folder and database, with the desk world and accounts in it."""

    root: Path
    env: dict[str, str]
    world: World
    people: People

    @contextmanager
    def serve(self, name: str, **extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
        """Run the compose `web` command on this instance; yields (base URL, process)."""
        env = {**self.env, **extra}
        with web_server(env, self.root, self.root / f"{name}.log", timeout=180) as (url, proc):
            yield url, proc

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")


def prepare(
    template: Path, root: Path, embedder: Embedder, *, database_url: str = "", **env: str
) -> Instance:
    """Copy the indexed template to `root`, migrate the database, add desks and accounts."""
    overrides: dict[str, object] = {"database_url": database_url} if database_url else {}
    web = build_web(template, root, embedder, **overrides)
    web.services.engine.dispose()
    settings, world, people = web.settings, web.world, web.people
    values: dict[str, str | Path] = {
        "SPORTELLO_DATA_DIR": settings.data_dir,
        "SPORTELLO_KB_DIR": settings.kb_dir,
        "SPORTELLO_DATABASE_URL": database_url,
        "SPORTELLO_TELEGRAM_TOKEN": "",
        "SPORTELLO_LOG_FORMAT": "json",
        "SPORTELLO_EMBEDDING_THREADS": "1",
        "WEB_CONCURRENCY": "1",
        **env,
    }
    return Instance(root, app_env(**values), world, people)


def kill(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the server and its workers: no shutdown code runs."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


# --- a volunteer's browser over HTTP ------------------------------------------------------------


class Browser:
    """The chat API as a browser uses it: its cookie and CSRF token, one request at a time."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        self.csrf = str(self.http.get("/api/chat").json()["csrf_token"])

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(path, json=body or {}, headers={"X-CSRF-Token": self.csrf})

    def ok(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.post(path, body)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        result: dict[str, Any] = response.json()
        return result

    def to_slots(self, case: str, topic: str = "fiscale") -> list[str]:
        """Hand over for an appointment up to the slots offered; returns their keys."""
        self.ok("/api/chat/handover/start", {"topic": topic, "appointment": True})
        self.ok("/api/chat/handover/choose", {"key": "topic:yes"})
        slots = self.ok("/api/chat/messages", {"text": case})["handover"]
        assert slots["step"] == "pick_slot", slots
        return [c["key"] for c in slots["choices"] if c["kind"] == "slot"]

    def pick(self, slot_key: str) -> dict[str, Any]:
        step = self.ok("/api/chat/handover/choose", {"key": slot_key})
        assert step["step"] == "confirm", step
        return step

    def to_confirm(self, case: str, topic: str = "fiscale") -> dict[str, Any]:
        """Hand over for an appointment up to the confirmation of the first slot offered."""
        return self.pick(self.to_slots(case, topic)[0])

    def close(self) -> None:
        self.http.close()


def staff_login(base: str, username: str, password: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=60)
    me = client.post("/api/auth/login", json={"username": username, "password": password})
    assert me.status_code == 200, me.text
    return client, str(me.json()["csrf_token"])


# --- a PostgreSQL server of our own -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a loopback port, run as the `postgres` user.

    Restarting the machine's shared server would break every other test using it at that
    moment; this one belongs to a single test, which may stop and restart it at will.
    """

    data: Path
    port: int
    options: str

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, timeout: float = 60) -> None:
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", *args]
        # The server inherits pg_ctl's output: a pipe would never close, so a log file it is.
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
        )

    @property
    def logfile(self) -> Path:
        return self.data.parent / "server.log"

    def restart(self, down_for: float = 0.0) -> None:
        """Stop (fast: connections are cut), stay down `down_for` seconds, start again."""
        self._ctl("-m", "fast", "stop")
        time.sleep(down_for)
        self.start()

    def start(self) -> None:
        self._ctl("-o", self.options, "-l", str(self.logfile), "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    folder = Path(tempfile.mkdtemp(prefix="sportello-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off"
    server = PrivatePostgres(data, port, options)
    server.start()
    try:
        yield server
    finally:
        with suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            server._ctl("-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def wait_until(predicate: Any, within: float = 30.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(every)
    raise AssertionError("timed out")


def server_clock() -> SystemClock:
    """The clock of the servers these tests start: the real one, shifted as theirs is by
    SPORTELLO_CLOCK_OFFSET (they inherit the environment)."""
    return SystemClock(Settings(_env_file=None).clock_offset)  # type: ignore[call-arg]
