"""The production processes on loopback: the docker-compose commands run for real, here.

Used by `make bench` (reply latency through HTTP) and tests/production (PostgreSQL + Chroma
server + two app processes). Commands come from docker-compose.yml itself, with the host, port
and paths moved to this machine, so what is measured and tested is what compose runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import yaml

from sportello.config import PROJECT_ROOT

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
BIN = Path(sys.executable).parent


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def compose_command(service: str) -> list[str]:
    command = compose()["services"][service]["command"]
    return list(command) if isinstance(command, list) else ["sh", "-c", str(command)]


def localize(command: list[str], port: int, *, path: Path | None = None) -> list[str]:
    """The compose command bound to 127.0.0.1:`port` (and `path` for --path), venv binaries."""
    out, args = [], iter(command)
    for arg in args:
        if arg == "--host":
            out += [arg, "127.0.0.1"]
            next(args)
        elif arg == "--port":
            out += [arg, str(port)]
            next(args)
        elif arg == "--path" and path is not None:
            out += [arg, str(path)]
            next(args)
        else:
            out.append(arg)
    if (BIN / out[0]).exists():
        out[0] = str(BIN / out[0])
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_env(**values: str | Path) -> dict[str, str]:
    """This environment without any SPORTELLO_* variable but the clock's offset (a run shifted
    to another day shifts its servers too), plus `values`; venv first on PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SPORTELLO_") or k == "SPORTELLO_CLOCK_OFFSET"
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    # A load generator is many people typing fast from one loopback address: the volunteers'
    # rate limit would measure itself. Tests of the limit pass their own values.
    env["SPORTELLO_RATE_LIMIT_MESSAGES"] = "10000"
    env["SPORTELLO_RATE_LIMIT_IP_MESSAGES"] = "0"
    env.update({k: str(v) for k, v in values.items()})
    return env


def wait_for(url: str, *, timeout: float = 90.0, proc: subprocess.Popen[Any] | None = None) -> None:
    """Poll `url` until it answers 200; fail early if `proc` died."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.25)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s: {last}")


@contextmanager
def running(
    command: list[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    ready_url: str,
    log: Path,
    timeout: float = 90.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `command` (stderr and stdout to `log`), wait for `ready_url`, stop it afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command,
            env=dict(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(ready_url, timeout=timeout, proc=proc)
            yield proc
        except BaseException:
            _dump(log, sys.stderr)
            raise
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _dump(log: Path, out: IO[str]) -> None:
    try:
        tail = log.read_text(errors="replace")[-4000:]
    except OSError:
        return
    out.write(f"--- last output of {log.name} ---\n{tail}\n")


@contextmanager
def chroma_server(root: Path, log_dir: Path) -> Iterator[str]:
    """The compose `chroma` command on a free loopback port; yields its URL."""
    port = free_port()
    command = localize(compose_command("chroma"), port, path=root / "chroma-server")
    url = f"http://127.0.0.1:{port}"
    with running(
        command,
        env=app_env(),
        cwd=root,
        ready_url=f"{url}/api/v2/heartbeat",
        log=log_dir / "chroma.log",
        timeout=60,
    ):
        yield url


@contextmanager
def web_server(
    env: Mapping[str, str], cwd: Path, log: Path, *, timeout: float = 120.0
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The compose `web` command on a free loopback port, ready (/readyz 200); yields its URL."""
    port = free_port()
    command = localize(compose_command("web"), port)
    url = f"http://127.0.0.1:{port}"
    with running(
        command, env=env, cwd=cwd, ready_url=f"{url}/readyz", log=log, timeout=timeout
    ) as proc:
        yield url, proc


def run_migrate(env: Mapping[str, str], cwd: Path) -> str:
    """The compose `migrate` one-shot; returns its output (raises if it failed)."""
    result = subprocess.run(
        compose_command("migrate"),
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"migrate failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout + result.stderr
