"""Reply latency through HTTP: volunteers asking /api/chat/messages on the real web server.

Each simulated volunteer is an httpx client with its own chat cookie (a new chat every few
questions, as people come and go), asking its questions one after the other; N of them run at
once. Loopback only, bounded request counts.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from sportello.config import Settings

QUESTIONS_PER_CHAT = 5


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    actions: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


def question_pool(settings: Settings, dev_questions: list[str]) -> list[str]:
    """Distinct, realistic questions: the dev set, then every question-shaped KB heading."""
    seen, pool = set(), []
    headings = []
    for path in sorted(settings.kb_dir.rglob("*.md")):
        headings += re.findall(r"^#+\s+(.+\?)\s*$", path.read_text(encoding="utf-8"), re.M)
    for question in [*dev_questions, *headings]:
        if question.lower() not in seen:
            seen.add(question.lower())
            pool.append(question)
    return pool


async def _volunteer(base: str, questions: list[str], result: LoadResult) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        csrf = ""
        for index, question in enumerate(questions):
            if index % QUESTIONS_PER_CHAT == 0:
                client.cookies.clear()
                csrf = (await client.get("/api/chat")).json()["csrf_token"]
            started = time.perf_counter()
            response = await client.post(
                "/api/chat/messages", json={"text": question}, headers={"X-CSRF-Token": csrf}
            )
            elapsed = (time.perf_counter() - started) * 1e3
            if response.status_code != 200:
                result.errors += 1
                continue
            result.latencies_ms.append(elapsed)
            message = response.json().get("message") or {}
            action = str(message.get("action") or "handover")
            result.actions[action] = result.actions.get(action, 0) + 1


async def _run(base: str, questions: list[str], clients: int, per_client: int) -> LoadResult:
    result = LoadResult()
    shares = [questions[k::clients][:per_client] for k in range(clients)]
    started = time.perf_counter()
    await asyncio.gather(*(_volunteer(base, share, result) for share in shares))
    result.seconds = time.perf_counter() - started
    return result


def run_load(base: str, questions: list[str], clients: int, per_client: int) -> LoadResult:
    """`clients` volunteers at once, each asking `per_client` questions of `questions`."""
    return asyncio.run(_run(base, questions, clients, per_client))


def _server_processes(pid: int) -> list[psutil.Process]:
    """The server process (the supervisor of `sportello serve`) and its children: the workers,
    and multiprocessing's resource tracker (a few MB, no CPU under load)."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(largest, total) peak resident memory of the server process and its workers, in MB."""
    peaks = []
    for proc in _server_processes(pid):
        status = Path(f"/proc/{proc.pid}/status")
        try:
            found = re.search(r"^VmHWM:\s+(\d+) kB", status.read_text(), re.M)
        except OSError:
            continue
        peaks.append(int(found.group(1)) / 1024 if found else proc.memory_info().rss / 2**20)
    return max(peaks), sum(peaks)


def stores_cpu_seconds(chroma_url: str) -> float:
    """User + system CPU seconds spent so far by the stores the replies read and write: the
    `chroma run` server listening on `chroma_url`'s port and the PostgreSQL processes (the web
    workers keep their connections open, so their backends live through a run)."""
    port = chroma_url.rsplit(":", 1)[-1]
    total = 0.0
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmd = proc.info["cmdline"] or []
        chroma = "run" in cmd and port in cmd and any(part.endswith("chroma") for part in cmd)
        if proc.info["name"] != "postgres" and not chroma:
            continue
        try:
            for one in [proc, *proc.children(recursive=True)]:
                times = one.cpu_times()
                total += times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def process_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU seconds spent so far by the server process and by each worker."""
    spent = {}
    for proc in _server_processes(pid):
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        spent[proc.pid] = times.user + times.system
    return spent


def loop_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds spent so far by the event-loop threads of the server process
    and its workers (each process's main thread): the HTTP layer's async part (uvicorn, the
    middleware, routing, dependencies, validation, JSON, the request log line and metrics).
    The use case runs in executor threads and the sync endpoints in AnyIO's: not counted."""
    total = 0.0
    for proc in _server_processes(pid):
        try:
            threads = proc.threads()
        except psutil.NoSuchProcess:
            continue
        total += sum(t.user_time + t.system_time for t in threads if t.id == proc.pid)
    return total


def busiest_share(before: dict[int, float], after: dict[int, float]) -> float:
    """The busiest process's share of the CPU the processes spent between two readings
    (1 / workers when the load is even; 1.0 when one worker did everything)."""
    spent = [after[pid] - before.get(pid, 0.0) for pid in after]
    return max(spent) / sum(spent) if spent and sum(spent) > 0 else 0.0
