"""The operator's handbook exists, is linked, covers what an operator must do, and the commands
around it keep data safe (`make clean` never deletes data/ without asking)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sportello.config import PROJECT_ROOT

HANDBOOK = PROJECT_ROOT / "docs" / "operations.md"


def test_handbook_is_linked_and_covers_the_operators_jobs() -> None:
    assert "docs/operations.md" in (PROJECT_ROOT / "README.md").read_text()
    text = HANDBOOK.read_text()
    for needle in (
        "pg_dump",
        "pg_restore",
        ".backup",  # SQLite online backup
        "make clean-data",
        "/revoke",  # Telegram token rotation
        "SPORTELLO_TELEGRAM_WEBHOOK_SECRET",
        "location = /metrics",
        "FORWARDED_ALLOW_IPS",
        "docker compose build",
        "db downgrade",
        "person erase",
    ):
        assert needle in text, needle


def test_every_compose_variable_is_in_env_example_and_the_handbook() -> None:
    compose = (PROJECT_ROOT / "docker-compose.yml").read_text()
    variables = set(re.findall(r"\$\{([A-Z_]+)", compose)) | {"FORWARDED_ALLOW_IPS"}
    assert {"POSTGRES_PASSWORD", "WEB_CONCURRENCY", "WEB_EMBEDDING_THREADS"} <= variables
    env_example = (PROJECT_ROOT / ".env.example").read_text()
    handbook = HANDBOOK.read_text()
    for name in variables:
        assert re.search(rf"^#?\s*{name}=", env_example, re.MULTILINE), name
        assert f"`{name}`" in handbook, name


def test_docs_name_no_path_outside_the_repository() -> None:
    for path in (PROJECT_ROOT / "README.md", HANDBOOK):
        text = path.read_text()
        assert "../" not in text and "/work/" not in text, path


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_clean_keeps_data_and_clean_data_asks(tmp_path: Path) -> None:
    shutil.copy(PROJECT_ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sportello.db").write_text("precious")

    def make(target: str, answer: str = "") -> str:
        done = subprocess.run(
            ["make", "-s", target], cwd=tmp_path, input=answer, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    make("clean")
    assert (tmp_path / "data" / "sportello.db").exists()
    assert "Kept data/" in make("clean-data", "no\n")
    assert (tmp_path / "data" / "sportello.db").exists()
    assert "deleted" in make("clean-data", "yes\n")
    assert not (tmp_path / "data").exists()
