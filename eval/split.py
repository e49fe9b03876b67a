"""Assign the tune/holdout split to every item of a golden-set JSONL file.

The split is derived from the item id only, so it is stable and nobody picks it
by hand (rule in the golden-set format notes):

    h = int(sha256(("sportello-golden:" + id).encode()).hexdigest(), 16)
    split = "holdout" if h % 3 == 0 else "tune"

Usage:
    python eval/split.py eval/golden-answers.jsonl [more.jsonl ...]

Each file is rewritten in place: same order, one JSON object per line
(UTF-8, ensure_ascii=False), with the ``split`` field set. Blank lines are
dropped. A line that is not valid JSON, or an item without an ``id``, stops the
run with an error and leaves that file untouched. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile

SALT = "sportello-golden:"


def split_for(item_id: str) -> str:
    """Return "holdout" or "tune" for an item id."""
    h = int(hashlib.sha256((SALT + item_id).encode("utf-8")).hexdigest(), 16)
    return "holdout" if h % 3 == 0 else "tune"


def assign(path: str) -> dict[str, int]:
    """Set the split of every item in ``path`` and rewrite it in place."""
    items = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{lineno}: invalid JSON: {exc}") from exc
            if not isinstance(item, dict) or not item.get("id"):
                raise SystemExit(f"{path}:{lineno}: item without an id")
            item["split"] = split_for(str(item["id"]))
            items.append(item)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".split-", suffix=".jsonl", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    counts = {"tune": 0, "holdout": 0}
    for item in items:
        counts[item["split"]] += 1
    return counts


def main(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write("usage: python eval/split.py FILE.jsonl [FILE.jsonl ...]\n")
        return 2
    for path in argv:
        counts = assign(path)
        sys.stdout.write(f"{path}: tune={counts['tune']} holdout={counts['holdout']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
