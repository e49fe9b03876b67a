"""Settings and start-up fail loudly, in words: every setting validated, the environment variable
named in one line, no traceback; the data folder does not follow the current directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sportello.config import PROJECT_ROOT, ConfigError, Settings, get_settings


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`sportello ARGS` in its own process, from `cwd`, with only the given SPORTELLO_ vars."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SPORTELLO_")}
    base.update(PYTHONPATH=str(PROJECT_ROOT), HF_HUB_OFFLINE="1", **env)
    return subprocess.run(
        [sys.executable, "-c", "from sportello.cli import app; app()", *args],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        timeout=180,
    )


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert all(w in result.stderr for w in words), result.stderr


def test_default_data_folder_is_the_projects_whatever_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPORTELLO_DATA_DIR", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.resolved_data_dir() == PROJECT_ROOT / "data"
    monkeypatch.setenv("SPORTELLO_DATA_DIR", "data")  # as in .env.example
    monkeypatch.setenv("SPORTELLO_KB_DIR", "knowledge_base")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.resolved_data_dir() == PROJECT_ROOT / "data"
    assert settings.kb_dir == PROJECT_ROOT / "knowledge_base"


def test_empty_variables_mean_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`cp .env.example .env` leaves SPORTELLO_CHROMA_PATH= (and others) empty."""
    for name in ("CHROMA_PATH", "RETRIEVAL_K", "DESK_TIMEZONE", "PORT"):
        monkeypatch.setenv(f"SPORTELLO_{name}", "")
    settings = Settings(_env_file=None, data_dir=tmp_path / "d")  # type: ignore[call-arg]
    assert settings.resolved_chroma_path() == tmp_path / "d" / "chroma"
    assert (settings.retrieval_k, settings.desk_timezone, settings.port) == (5, "Europe/Rome", 8000)


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("DESK_TIMEZONE", "Europe/Roma", "fuso orario sconosciuto"),
        ("RETRIEVAL_K", "abc", "integer"),
        ("PORT", "70000", "65535"),
        ("DATABASE_URL", "postgres-ish:/nowhere", "URL SQLAlchemy"),
        ("CHROMA_URL", "chroma:8000", "indirizzo http"),
        ("TELEGRAM_WEBHOOK_URL", "http://bot.example.org/telegram/webhook", "https"),
        ("DESK_REMINDER_HOURS", "[24, 0]", "almeno 1 ora"),
    ],
)
def test_a_wrong_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, words: str
) -> None:
    monkeypatch.setenv(f"SPORTELLO_{variable}", value)
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError) as caught:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert f"SPORTELLO_{variable}" in str(caught.value) and words in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1


def test_the_command_line_reports_configuration_errors_in_one_line(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    one_line_error(
        run(
            ["kb", "list"], tmp_path, SPORTELLO_DATA_DIR=data, SPORTELLO_DESK_TIMEZONE="Europe/Roma"
        ),
        "SPORTELLO_DESK_TIMEZONE",
    )
    one_line_error(run(["serve", "--port", "70000"], tmp_path, SPORTELLO_DATA_DIR=data), "--port")
    one_line_error(
        run(
            ["conversations", "purge"],
            tmp_path,
            SPORTELLO_DATA_DIR=data,
            SPORTELLO_DATABASE_URL="postgresql+psycopg://sportello:segreta@127.0.0.1:1/sportello",
        ),
        "Database non raggiungibile",
        "SPORTELLO_DATABASE_URL",
    )
    down = run(
        ["serve"], tmp_path, SPORTELLO_DATA_DIR=data, SPORTELLO_CHROMA_URL="http://127.0.0.1:1"
    )
    one_line_error(down, "Chroma non raggiungibile", "SPORTELLO_CHROMA_URL")
    assert "segreta" not in down.stderr


def test_serve_reports_a_taken_port_in_one_line(tmp_path: Path) -> None:
    """Whether one process or workers would bind it, a port in use stops `sportello serve`
    before anything starts (the workers' SO_REUSEPORT sockets must not join another
    program's, or another `sportello serve`'s, listener)."""
    data = str(tmp_path / "data")
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for workers in ("1", "2"):
            refused = run(
                ["serve", "--port", port, "--workers", workers], tmp_path, SPORTELLO_DATA_DIR=data
            )
            one_line_error(refused, f"127.0.0.1:{port}", "già in uso")
            assert refused.returncode == 1


def test_serve_refuses_several_workers_polling_telegram(tmp_path: Path) -> None:
    refused = run(
        ["serve"],
        tmp_path,
        SPORTELLO_DATA_DIR=str(tmp_path / "data"),
        SPORTELLO_TELEGRAM_TOKEN="123456:ABCdef",
        WEB_CONCURRENCY="2",
    )
    one_line_error(refused, "sportello bot", "SPORTELLO_TELEGRAM_TOKEN")


def test_web_worker_factory_stops_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from sportello import asgi

    monkeypatch.setenv("SPORTELLO_DESK_TIMEZONE", "Europe/Roma")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as stopped:
            asgi.create()
    finally:
        get_settings.cache_clear()
    assert stopped.value.code == 2


def test_purge_from_another_directory_never_creates_an_empty_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cron_home = tmp_path / "home"
    cron_home.mkdir()
    refused = run(["conversations", "purge"], cron_home, SPORTELLO_DATA_DIR=str(data))
    one_line_error(refused, "Nessun database", "SPORTELLO_DATA_DIR")
    assert not (data / "sportello.db").exists() and not (cron_home / "data").exists()
    project = tmp_path / "project"
    project.mkdir()
    assert run(["db", "upgrade"], project, SPORTELLO_DATA_DIR=str(data)).returncode == 0
    done = run(["conversations", "purge"], cron_home, SPORTELLO_DATA_DIR=str(data))
    assert done.returncode == 0, done.stderr
    assert str(data / "sportello.db") in done.stdout
