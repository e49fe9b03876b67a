"""A lock shared by the processes that use one data folder (an instance's workers, a CLI run
beside a server): `flock` on a `.lock` file next to what it guards, released when the file is
closed, so a process killed while holding it releases it too."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def locked(path: Path, *, exclusive: bool = True) -> Iterator[None]:
    """Hold the lock of `path` (the file `<path>.lock` beside it) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield  # closing the file releases the lock
