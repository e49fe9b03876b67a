"""docker-compose.yml, Dockerfile and .dockerignore: the shape the issue asks for, validated.

Docker does not run on our machines; `docker compose config` (or the v1 `docker-compose
config`) parses and validates the file without a daemon, and runs here when installed. The
commands themselves run for real in test_production_shape.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bench.servers import compose
from sportello.config import PROJECT_ROOT

SERVICES = {"postgres", "chroma", "migrate", "web", "bot"}


def test_services_commands_and_health_checks() -> None:
    services = compose()["services"]
    assert set(services) == SERVICES
    assert services["chroma"]["command"] == [
        "chroma",
        "run",
        "--path",
        "/data",
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
    ]
    assert "/api/v2/heartbeat" in " ".join(services["chroma"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["migrate"]["command"][-1] == (
        "sportello db upgrade && sportello kb ingest && sportello desk seed-demo --if-empty"
    )
    assert services["migrate"]["restart"] == "no"
    web = services["web"]
    # Workers from $WEB_CONCURRENCY, each on its own SO_REUSEPORT socket (sportello/serving.py).
    assert web["command"] == ["sportello", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert "/readyz" in " ".join(web["healthcheck"]["test"])
    assert web["environment"]["PROMETHEUS_MULTIPROC_DIR"] in web["tmpfs"]
    assert "WEB_CONCURRENCY" in web["environment"]
    assert services["bot"]["command"] == ["sportello", "bot"]


def test_stores_are_volumes_and_apps_wait_for_them() -> None:
    data = compose()
    services = data["services"]
    assert {"postgres-data", "chroma-data", "sportello-data"} <= set(data["volumes"])
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "chroma-data:/data" in services["chroma"]["volumes"]
    for name in ("migrate", "web", "bot"):
        service = services[name]
        assert service["env_file"] == ".env"
        assert service["environment"]["SPORTELLO_CHROMA_URL"] == "http://chroma:8000"
        assert service["environment"]["SPORTELLO_DATABASE_URL"].startswith("postgresql+psycopg://")
        depends = service["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["chroma"]["condition"] == "service_healthy"
        if name != "migrate":
            assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_dockerfile_and_dockerignore() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in dockerfile
    # The image's default command is the compose web service's: workers on their own sockets.
    assert 'CMD ["sportello", "serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert {".venv", "data", ".git", ".env"} <= set(ignored)


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_validates(tmp_path: Path) -> None:
    cli = _compose_cli()
    if cli is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    shutil.copy(PROJECT_ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    env = (PROJECT_ROOT / ".env.example").read_text() + "\nPOSTGRES_PASSWORD=secret\n"
    (tmp_path / ".env").write_text(env)
    result = subprocess.run(
        [*cli, "-f", "docker-compose.yml", "config", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    # Without the password the file refuses to start rather than use a default one.
    (tmp_path / ".env").write_text((PROJECT_ROOT / ".env.example").read_text())
    refused = subprocess.run(
        [*cli, "-f", "docker-compose.yml", "config", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr
