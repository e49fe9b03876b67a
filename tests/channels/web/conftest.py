"""Web fixtures: a small indexed knowledge base built once, a fresh instance per test, people.

The index of a few curated documents is built once per run and copied into each test's data
folder (copying is milliseconds, embedding is seconds); the database in the copy already has
the schema and the documents' rows.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from sportello.accounts import service as accounts
from sportello.accounts.models import UserRole
from sportello.app import create_app
from sportello.clock import FrozenClock
from sportello.config import Settings
from sportello.knowledge.embeddings import Embedder
from sportello.services import Services, build_services
from tests.conftest import KB_DIR, NOW, make_settings
from tests.desk.factory import World, build_world

# Three documents (about 30 chunks): embedding is what a test run pays for.
KB_SUBSET = [
    "runts/iscrizione-al-runts-procedura-e-documenti.md",
    "fiscale/cinque-per-mille-chi-puo-accedere-e-iscrizione.md",
    "sportello/come-prenotare-un-appuntamento-con-un-esperto.md",
]
PASSWORD = "password-di-prova-1"


@pytest.fixture(scope="session")
def indexed_template(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """A data folder with the subset indexed (dense, BM25, kb_documents rows), built once."""
    root = tmp_path_factory.mktemp("web-template")
    kb = root / "kb"
    for name in KB_SUBSET:
        target = kb / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(as_of_now(KB_DIR / name), encoding="utf-8")
    settings = make_settings(root, kb_dir=kb)
    svc = build_services(settings, embedder=embedder)
    with svc.sessions.begin() as session:
        report = svc.knowledge.indexer.ingest([kb], session=session)
    assert not report.failed, report.failed
    svc.engine.dispose()
    return root


def as_of_now(path: Path) -> str:
    """A curated document as it stood at the tests' frozen NOW: a review date after NOW (the
    knowledge base keeps being reviewed) would be in the future there, and ingest refuses it."""
    text = path.read_text(encoding="utf-8")
    found = re.search(r"^reviewed: (\d{4}-\d{2}-\d{2})$", text, re.MULTILINE)
    if found and date.fromisoformat(found.group(1)) > NOW.date():
        text = text.replace(found.group(0), f"reviewed: {NOW.date().isoformat()}", 1)
    return text


def instance_settings(template: Path, tmp_path: Path, **overrides: object) -> Settings:
    shutil.copytree(template / "data", tmp_path / "data")
    shutil.copytree(template / "kb", tmp_path / "kb")
    # The kb_documents rows point at the template's files: the copies have the same ids.
    return make_settings(tmp_path, kb_dir=tmp_path / "kb", **overrides)


@dataclass
class People:
    staff: str = "anna"
    expert: str = "luca"  # linked to the fiscal expert of the world
    other_expert: str = "marta"  # linked to the online fiscal expert
    unlinked_expert: str = "pino"  # an expert account with no desk expert


@dataclass
class Web:
    settings: Settings
    services: Services
    app: FastAPI
    world: World
    people: People

    def client(self, *, base_url: str = "http://testserver") -> TestClient:
        """A browser of its own (its own cookies); no lifespan, deliveries run by hand."""
        return TestClient(self.app, base_url=base_url, follow_redirects=False)

    def session(self) -> Session:
        return self.services.sessions()


def add_people(svc: Services, world: World) -> People:
    people = People()
    with svc.sessions.begin() as session:
        accounts.create_user(
            session=session,
            username=people.staff,
            password=PASSWORD,
            role=UserRole.STAFF,
            display_name="Anna dello staff",
        )
        accounts.create_user(
            session=session,
            username=people.expert,
            password=PASSWORD,
            role=UserRole.EXPERT,
            display_name="Luca esperto",
            expert_id=world.fiscal,
        )
        accounts.create_user(
            session=session,
            username=people.other_expert,
            password=PASSWORD,
            role=UserRole.EXPERT,
            display_name="Marta esperta",
            expert_id=world.fiscal_online,
        )
        accounts.create_user(
            session=session,
            username=people.unlinked_expert,
            password=PASSWORD,
            role=UserRole.EXPERT,
        )
    return people


def build_web(template: Path, root: Path, embedder: Embedder, **overrides: object) -> Web:
    """A fresh instance in `root`: the indexed subset, desks and experts, the four accounts."""
    settings = instance_settings(template, root, **overrides)
    svc = build_services(settings, embedder=embedder, clock=FrozenClock(NOW))
    with svc.sessions.begin() as session:
        world = build_world(session)
    people = add_people(svc, world)
    app = create_app(settings, svc)
    app.state.services = svc  # what the lifespan would do (TestClient without `with`)
    return Web(settings, svc, app, world, people)


@pytest.fixture
def web(indexed_template: Path, tmp_path: Path, embedder: Embedder) -> Iterator[Web]:
    instance = build_web(indexed_template, tmp_path, embedder)
    yield instance
    instance.services.engine.dispose()


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    token = csrf_from(page.text)
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 303, response.text
    me = client.get("/api/auth/me")
    assert me.status_code == 200, me.text
    return str(me.json()["csrf_token"])


def open_chat(client: TestClient) -> str:
    """Open the chat page (gets the cookie); returns the chat's CSRF token."""
    page = client.get("/")
    assert page.status_code == 200
    return csrf_from(page.text)
