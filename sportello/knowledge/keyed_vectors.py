"""Vectors keyed by a text's sha1 in npz files (a `keys` array beside a `vectors` matrix): the
format of the vectors shipped with the curated documents (`shipped_vectors`), of those shipped
with the intent examples and of the intent cache in the data folder (`answering.intents`).

Kept apart from `shipped_vectors`, which imports the indexer (Chroma, bm25s): the intent
classifier reads these files without loading either.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike


def model_slug(model: str) -> str:
    """`model` (a name or a path) made a file name; empty when nothing in it is usable (each
    caller has its own fallback, and the names already shipped depend on it)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("._")


def read_keyed(path: Path, dtype: DTypeLike | None = None) -> dict[str, np.ndarray]:
    """The vectors in `path` by key, as stored or converted to `dtype`."""
    with np.load(path) as data:
        vectors = data["vectors"] if dtype is None else data["vectors"].astype(dtype)
        return dict(zip(data["keys"].tolist(), vectors, strict=True))


def read_keys(path: Path) -> list[str]:
    """The keys in `path`, without the vectors: an npz member is decompressed only when read,
    so telling whether a file is current costs its keys, not its vectors."""
    with np.load(path) as data:
        return list(data["keys"].tolist())


def write_npz_atomically(path: Path, *, compressed: bool = False, **arrays: Any) -> None:
    """Write `arrays` to `path` through a file of this process's own, then swap it in whole:
    processes writing together (an instance's workers) never leave a torn file, and a reader
    sees the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    save = np.savez_compressed if compressed else np.savez
    save(partial, **arrays)
    partial.replace(path)
