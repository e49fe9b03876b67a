"""Serving the web app: one uvicorn server in this process, or worker processes that each
listen on a socket of their own (SO_REUSEPORT), so the kernel spreads connections among them.

Why not uvicorn's `--workers`: its workers share one listening socket and whichever is quickest
to accept takes the connection; a browser (or a load generator) keeps its keep-alive connection,
so one worker ended up serving almost every client while the other idled (`make bench`,
busiest_worker_cpu_share_20 = 0.997). With one SO_REUSEPORT socket per worker, Linux hashes each
new connection to one of the sockets: the workers get about as many connections each.

The supervisor is modelled on uvicorn's own (`uvicorn.supervisors.Multiprocess`): spawned
children, SIGTERM/SIGINT forwarded as SIGTERM for a graceful shutdown, a worker that dies after
it started serving replaced. A worker that stops before it ever served (a wrong setting, a
backend down, the port taken) stops everything instead: it would fail the same way again.
Where SO_REUSEPORT does not balance (not Linux), uvicorn's shared-socket supervisor runs.
`sportello serve --workers N` makes its checks, then execs `python -m sportello.serving` for
the supervisor, which so weighs 40 MB instead of the command line's 226 MB.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

import uvicorn

if TYPE_CHECKING:
    from fastapi import FastAPI

logger = logging.getLogger(__name__)

APP = "sportello.asgi:create"  # the workers' app factory (settings, logging, preflight, app)
GRACEFUL_SHUTDOWN_SECONDS = 20  # open requests may finish this long after SIGTERM
STARTUP_FAILURE = 3  # uvicorn's exit code for a server that could not start
_KILL_AFTER_SECONDS = GRACEFUL_SHUTDOWN_SECONDS + 10  # then a worker that still runs is killed
_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    @property
    def family(self) -> socket.AddressFamily:
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.family == socket.AF_INET6 else self.host
        return f"{host}:{self.port}"


class PortUnavailable(Exception):
    """The address cannot be listened on (taken, not this machine's, not allowed)."""

    def __init__(self, address: Address, error: OSError) -> None:
        super().__init__(f"cannot listen on {address}: {error.strerror or error}")
        self.address = address
        self.errno = error.errno
        self.reason = error.strerror or str(error)


class WorkerFailed(Exception):
    """A worker stopped before it started serving; its log lines say why."""

    def __init__(self, pid: int | None, exitcode: int | None) -> None:
        super().__init__(f"worker [{pid}] stopped before serving (exit code {exitcode})")
        self.pid = pid
        self.exitcode = exitcode


def reuse_port_balances() -> bool:
    """Whether SO_REUSEPORT spreads connections among sockets here (Linux; BSD and macOS
    accept the option but do not balance)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def server_config(app: FastAPI | str, address: Address) -> uvicorn.Config:
    """The production server settings: X-Forwarded-* headers trusted from FORWARDED_ALLOW_IPS
    (uvicorn's default 127.0.0.1), no access log (our middleware logs each request), a 20 s
    graceful shutdown; logging is ours (configure_logging), not uvicorn's."""
    return uvicorn.Config(
        app,
        factory=isinstance(app, str),
        host=address.host,
        port=address.port,
        proxy_headers=True,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        log_config=None,
    )


def bind(address: Address, *, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to `address`, not listening yet (the server listens once its app has
    started, so no connection waits on a worker still starting). Raises PortUnavailable."""
    sock = socket.socket(address.family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((address.host, address.port))
    except OSError as exc:
        sock.close()
        raise PortUnavailable(address, exc) from exc
    return sock


def serve_here(app: FastAPI, address: Address) -> None:
    """One server in this process, until SIGINT or SIGTERM."""
    sock = bind(address, reuse_port=False)
    logger.info("serving on http://%s (one process)", address)
    uvicorn.Server(server_config(app, address)).run(sockets=[sock])


def exec_supervisor(address: Address, workers: int) -> NoReturn:
    """Check that `address` is free, then replace this process with `python -m
    sportello.serving` serving `workers` workers: the supervisor then carries only uvicorn and
    this module, not the command line's imports (the knowledge and answering stacks)."""
    bind(address, reuse_port=False).close()  # a taken port is reported by the caller
    sys.stdout.flush()
    sys.stderr.flush()
    args = [address.host, str(address.port), str(workers)]
    os.execv(sys.executable, [sys.executable, "-m", "sportello.serving", *args])


def main(argv: list[str]) -> None:
    """`python -m sportello.serving HOST PORT WORKERS` (what exec_supervisor runs)."""
    from sportello.config import get_settings
    from sportello.logging_setup import configure_logging

    host, port, workers = argv
    configure_logging(get_settings())
    try:
        serve_workers(Address(host, int(port)), int(workers))
    except PortUnavailable as exc:
        sys.exit(port_message(exc))
    except WorkerFailed as exc:
        sys.exit(worker_message(exc))


def serve_workers(address: Address, workers: int) -> None:
    """`workers` processes serving APP on `address` until SIGINT or SIGTERM. Raises
    PortUnavailable when the address is taken, WorkerFailed when a worker cannot start."""
    if not reuse_port_balances():
        logger.warning(
            "SO_REUSEPORT does not balance connections on %s: the %d workers share one socket "
            "(uvicorn's supervisor), and each connection stays with the worker that accepted it",
            sys.platform,
            workers,
        )
        from uvicorn.supervisors import Multiprocess

        config = server_config(APP, address)
        config.workers = workers
        sock = bind(address, reuse_port=False)
        sock.set_inheritable(True)  # as uvicorn's own bind_socket() leaves it for its workers
        Multiprocess(config, sockets=[sock]).run()
        return
    # A socket without SO_REUSEPORT cannot join a listener's group: this finds the port taken
    # (by another program, or by another `sportello serve` our workers would otherwise join).
    bind(address, reuse_port=False).close()
    Supervisor(address, workers).run()


# -- what the operator reads (Italian, like the rest of the command line) ------------------------
_BIND_ERRORS = {
    errno.EADDRINUSE: "la porta è già in uso (un altro `sportello serve`?); scegline un'altra "
    "con --port o SPORTELLO_PORT",
    errno.EACCES: "permesso negato (le porte sotto 1024 richiedono privilegi); scegli un'altra "
    "porta con --port o SPORTELLO_PORT",
    errno.EADDRNOTAVAIL: "l'indirizzo non è di questa macchina; controlla --host o SPORTELLO_HOST",
}


def port_message(error: PortUnavailable) -> str:
    why = _BIND_ERRORS.get(error.errno or 0, error.reason)
    return f"Impossibile mettersi in ascolto su {error.address}: {why}."


def worker_message(error: WorkerFailed) -> str:
    return (
        f"Un worker si è fermato prima di partire (codice di uscita {error.exitcode}): il "
        "motivo è nelle righe di log qui sopra; gli altri worker sono stati fermati."
    )


# -- the workers ------------------------------------------------------------------------------------
class _Server(uvicorn.Server):
    """uvicorn's server, telling the supervisor once it serves."""

    def __init__(self, config: uvicorn.Config, serving: Event) -> None:
        super().__init__(config)
        self._serving = serving

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._serving.set()


def _stop_with_parent() -> None:
    """Shut this worker down gracefully when the supervisor is gone (killed with SIGKILL),
    instead of serving on unsupervised."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    wait([parent.sentinel])
    os.kill(os.getpid(), signal.SIGTERM)


def _worker(address: Address, serving: Event) -> None:
    """One worker process: load the app, bind its own socket, serve."""
    threading.Thread(target=_stop_with_parent, name="parent-watch", daemon=True).start()
    config = server_config(APP, address)
    config.load()  # runs the factory: settings, logging, preflight (a bad setting exits here)
    try:
        sock = bind(address, reuse_port=True)
    except PortUnavailable as exc:
        logger.error("%s", exc)
        sys.exit(STARTUP_FAILURE)
    logger.info("worker [%d] serving on http://%s (own socket, SO_REUSEPORT)", os.getpid(), address)
    _Server(config, serving).run(sockets=[sock])


@dataclass
class _Child:
    process: BaseProcess
    serving: Event


class Supervisor:
    """Starts `count` workers, replaces one that dies after it served, and stops them all
    (SIGTERM, then SIGKILL after the graceful timeout) on SIGINT or SIGTERM."""

    def __init__(
        self,
        address: Address,
        count: int,
        *,
        target: Callable[[Address, Event], None] | None = None,
    ) -> None:
        self.address = address
        self.count = count
        self.target = target or _worker  # what a worker process runs (tests pass their own)
        self.children: list[_Child] = []
        self._context = multiprocessing.get_context("spawn")
        self._signals: list[int] = []

    def _start(self) -> _Child:
        serving = self._context.Event()
        process = self._context.Process(
            target=self.target, args=(self.address, serving), name="sportello-web-worker"
        )
        process.start()
        return _Child(process, serving)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals.append(signum)  # acted on in the loop, outside the handler

    def run(self) -> None:
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        logger.info(
            "supervisor [%d]: %d workers on http://%s, each with its own socket (SO_REUSEPORT)",
            os.getpid(),
            self.count,
            self.address,
        )
        try:
            self.children = [self._start() for _ in range(self.count)]
            while not self._signals:
                wait([child.process.sentinel for child in self.children], _POLL_SECONDS)
                self._replace_dead()
            logger.info(
                "supervisor: %s, stopping the workers", signal.Signals(self._signals[0]).name
            )
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info("supervisor: workers stopped")

    def _replace_dead(self) -> None:
        for index, child in enumerate(self.children):
            if child.process.is_alive() or self._signals:
                continue
            child.process.join()
            if not child.serving.is_set():
                raise WorkerFailed(child.process.pid, child.process.exitcode)
            logger.warning(
                "worker [%s] died (exit code %s): starting another",
                child.process.pid,
                child.process.exitcode,
            )
            self.children[index] = self._start()

    def _stop_all(self) -> None:
        for child in self.children:
            if child.process.is_alive() and child.process.pid is not None:
                try:
                    os.kill(child.process.pid, signal.SIGTERM)
                except ProcessLookupError:  # it ended in the meantime
                    continue
        deadline = time.monotonic() + _KILL_AFTER_SECONDS
        for child in self.children:
            child.process.join(max(0.0, deadline - time.monotonic()))
            if child.process.is_alive():
                logger.error("worker [%s] still running: killing it", child.process.pid)
                child.process.kill()
                child.process.join()


if __name__ == "__main__":
    # Run the module's functions from `sportello.serving` itself, not from this `__main__` copy:
    # the workers unpickle their target and arguments by that name.
    from sportello.serving import main as serving_main

    serving_main(sys.argv[1:])
