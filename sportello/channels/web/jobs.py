"""Re-indexing in the background with progress people can watch, one run at a time.

Index writes (re-index, upload, retire, restore, promote) share one lock per process, so two
of them never rebuild the keyword index at once. Progress lives in memory: a page polls the
process that started the run (behind several workers, route the admin to one of them).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sportello.errors import ErrorCode, SportelloError
from sportello.knowledge.kb_files import is_indexable
from sportello.services import Services

logger = logging.getLogger(__name__)
KEEP_JOBS = 20


@dataclass
class ReindexJob:
    id: str
    started_at: datetime
    status: str = "running"  # running | done | failed
    total: int = 0
    done: int = 0
    current: str = ""
    report: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    finished_at: datetime | None = None

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "total": self.total,
            "done": self.done,
            "percent": self.percent,
            "current": self.current,
            "report": self.report,
            "error": self.error,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def count_files(paths: list[Path]) -> int:
    return sum(
        (sum(1 for p in t.rglob("*") if is_indexable(p)) if t.is_dir() else 1)
        for t in paths
        if t.exists()
    )


class IndexWork:
    """The per-process lock around index writes and the registry of re-index runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, ReindexJob] = {}
        self._registry = threading.Lock()

    @contextmanager
    def exclusive(self, wait_s: float = 2.0) -> Iterator[None]:
        if not self._lock.acquire(timeout=wait_s):
            raise SportelloError(ErrorCode.CONFLICT, "reindex_running")
        try:
            yield
        finally:
            self._lock.release()

    def get(self, job_id: str) -> ReindexJob | None:
        with self._registry:
            return self._jobs.get(job_id)

    def latest(self) -> ReindexJob | None:
        with self._registry:
            return max(self._jobs.values(), key=lambda j: j.started_at, default=None)

    def start(self, svc: Services) -> ReindexJob:
        """Start re-indexing the curated folder and the uploads (or join the running one)."""
        with self._registry:
            running = next((j for j in self._jobs.values() if j.status == "running"), None)
            if running is not None:
                return running
            job = ReindexJob(id=uuid.uuid4().hex[:12], started_at=svc.clock.now())
            self._jobs[job.id] = job
            for old in sorted(self._jobs.values(), key=lambda j: j.started_at)[:-KEEP_JOBS]:
                del self._jobs[old.id]
        thread = threading.Thread(
            target=self._run, args=(svc, job), name=f"reindex-{job.id}", daemon=True
        )
        thread.start()
        return job

    def _run(self, svc: Services, job: ReindexJob) -> None:
        kb = svc.knowledge
        paths = kb.default_paths()
        job.total = count_files(paths)

        def progress(name: str) -> None:
            job.done += 1
            job.current = name

        try:
            with self._lock, svc.sessions.begin() as session:
                report = kb.indexer.ingest(paths, session=session, progress=progress)
            job.report = report.as_dict()
            job.status = "done"
        except Exception as exc:  # the run failed: show it on the page, keep the server up
            logger.exception("re-index %s failed", job.id)
            job.error = exc.detail if isinstance(exc, SportelloError) else type(exc).__name__
            job.status = "failed"
        finally:
            job.finished_at = svc.clock.now()
