"""Folder operations shared by the stores kept beside the indexes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def swap_in(tmp: Path, path: Path) -> None:
    """Put the folder `tmp` in place of `path` with renames, so a reader sees one or the other."""
    old = path.with_name(path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
