"""`sportello serve` with several workers, for real: each worker listens on a socket of its own,
the kernel spreads keep-alive connections among them, /metrics adds them up, SIGTERM stops
them all, a killed worker is replaced, and one that cannot start stops the supervisor.

The server is the compose `web` command (bench/servers.py), on a copy of the web tests' small
indexed knowledge base. Which worker serves a connection is read from the kernel (psutil: the
worker process that holds the server end of it), so no response has to say it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import psutil
import pytest

from bench.servers import app_env, free_port, web_server
from sportello.serving import Address, Supervisor, WorkerFailed
from tests.channels.web.conftest import indexed_template, instance_settings  # noqa: F401

pytestmark = pytest.mark.slow

CONNECTIONS = 20
T = TypeVar("T")


def wait_until(found: Callable[[], T], within: float, *, count: int | None = None) -> T:
    """Poll `found` until it returns something true (of `count` items when given); fail after
    `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = found()
        if result and (count is None or len(result) == count):  # type: ignore[arg-type]
            return result
        assert time.monotonic() < deadline, f"timed out; last seen: {result!r}"
        time.sleep(0.2)


@pytest.fixture
def server_env(indexed_template: Path, tmp_path: Path) -> dict[str, str]:  # noqa: F811
    settings = instance_settings(indexed_template, tmp_path)
    metrics = tmp_path / "prometheus"
    metrics.mkdir()
    return app_env(
        SPORTELLO_DATA_DIR=settings.data_dir,
        SPORTELLO_KB_DIR=settings.kb_dir,
        SPORTELLO_TELEGRAM_TOKEN="",
        SPORTELLO_LOG_FORMAT="json",
        SPORTELLO_EMBEDDING_THREADS="1",
        WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=metrics,
    )


@pytest.fixture
def two_workers(
    server_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with web_server(server_env, tmp_path, tmp_path / "web.log", timeout=180) as (url, proc):
        wait_until(lambda: listening_workers(proc.pid, port_of(url)), within=180, count=2)
        yield url, proc


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def listening_sockets(pid: int, port: int) -> set[str]:
    """The listening sockets on `port` that process `pid` holds, as kernel ids ('socket:[…]')."""
    found = set()
    for conn in psutil.Process(pid).net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.fd >= 0:
            try:
                found.add(os.readlink(f"/proc/{pid}/fd/{conn.fd}"))
            except FileNotFoundError as gone:  # it exited meanwhile (a worker just killed)
                raise psutil.NoSuchProcess(pid) from gone
    return found


def listening_workers(server_pid: int, port: int) -> dict[int, set[str]]:
    """The server's worker processes (those listening on `port`) and their listening sockets."""
    found = {}
    for child in psutil.Process(server_pid).children():
        try:
            sockets = listening_sockets(child.pid, port)
        except psutil.NoSuchProcess:
            continue
        if sockets:
            found[child.pid] = sockets
    return found


def serving_worker(pids: set[int], port: int, client_port: int) -> int | None:
    """Which of `pids` holds the server end of the connection from `client_port`."""
    for pid in pids:
        for conn in psutil.Process(pid).net_connections(kind="tcp"):
            if conn.laddr.port == port and conn.raddr and conn.raddr.port == client_port:
                return pid
    return None


def ask_on_new_connections(url: str, pids: set[int], count: int) -> list[int | None]:
    """Open `count` keep-alive connections, send GET /api/chat on each, and say which worker
    served each one (the connections stay open while the kernel is asked)."""
    clients = [httpx.Client(base_url=url, timeout=60) for _ in range(count)]
    try:
        owners = []
        for client in clients:
            with client.stream("GET", "/api/chat") as response:
                assert response.status_code == 200
                stream = response.extensions["network_stream"]
                client_port = stream.get_extra_info("client_addr")[1]
                response.read()
            owners.append(serving_worker(pids, port_of(url), client_port))
        return owners
    finally:
        for client in clients:
            client.close()


def test_each_worker_listens_on_its_own_socket_and_serves_connections(
    two_workers: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, proc = two_workers
    found = listening_workers(proc.pid, port_of(url))
    assert len(found) == 2
    first, second = found.values()
    assert first and second and not first & second, "one listening socket per worker"

    owners = ask_on_new_connections(url, set(found), CONNECTIONS)
    assert None not in owners, owners
    # Hashed by the kernel: all 20 on one worker has a probability of 2 in a million.
    assert set(owners) == set(found), owners

    exposition = httpx.get(f"{url}/metrics", timeout=30).text
    counted = re.search(
        r'sportello_http_requests_total\{method="GET",route="/api/chat",status="200"\} (\S+)',
        exposition,
    )
    assert counted and float(counted.group(1)) == CONNECTIONS, "/metrics adds up both workers"


def test_a_killed_worker_is_replaced_and_sigterm_stops_them_all(
    two_workers: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    url, proc = two_workers
    port = port_of(url)
    first = listening_workers(proc.pid, port)
    victim, survivor = sorted(first)
    os.kill(victim, signal.SIGKILL)

    def replaced() -> dict[int, set[str]]:
        now = listening_workers(proc.pid, port)
        return now if len(now) == 2 and victim not in now else {}

    now = wait_until(replaced, within=180)
    assert survivor in now
    (replacement,) = set(now) - {survivor}

    # The replacement listens once its app has started: new connections reach it.
    def reached() -> list[int | None]:
        owners = ask_on_new_connections(url, set(now), 8)
        return owners if replacement in owners else []

    assert set(wait_until(reached, within=60)) <= {survivor, replacement}

    processes = [psutil.Process(pid) for pid in now]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    gone, alive = psutil.wait_procs(processes, timeout=30)
    assert not alive, alive
    log = (tmp_path / "web.log").read_text()
    assert f"worker [{victim}] died" in log
    for pid in now:  # each shut down the graceful way (uvicorn's last line)
        assert f"Finished server process [{pid}]" in log


def _stops_before_serving(address: Address, serving: object) -> None:
    sys.exit(3)


def test_a_worker_that_cannot_start_stops_the_supervisor() -> None:
    supervisor = Supervisor(Address("127.0.0.1", free_port()), 2, target=_stops_before_serving)
    with pytest.raises(WorkerFailed) as failed:
        supervisor.run()
    assert failed.value.exitcode == 3
    assert all(not child.process.is_alive() for child in supervisor.children)
