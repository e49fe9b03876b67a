"""The web chat's rate limit (the same policy as Telegram's): per browser and per address,
HTTP 429 with Retry-After and the Italian sentence, nothing stored, the allowance back after
a quiet window."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sportello.clock import FrozenClock
from sportello.conversations.models import Message, Role
from sportello.knowledge.embeddings import Embedder
from tests.channels.web.conftest import Web, build_web, open_chat

QUESTION = "Come si iscrive un ente al 5 per mille?"


@pytest.fixture
def limited(indexed_template: Path, tmp_path: Path, embedder: Embedder) -> Web:
    instance = build_web(
        indexed_template,
        tmp_path,
        embedder,
        rate_limit_messages=3,
        rate_limit_seconds=60,
        rate_limit_ip_messages=5,
    )
    yield instance  # type: ignore[misc]
    instance.services.engine.dispose()


def browser(web: Web, ip: str) -> tuple[TestClient, str]:
    client = TestClient(web.app, follow_redirects=False, client=(ip, 50000))
    return client, open_chat(client)


def ask(client: TestClient, csrf: str, text: str = QUESTION) -> int:
    response = client.post(
        "/api/chat/messages", json={"text": text}, headers={"X-CSRF-Token": csrf}
    )
    return response.status_code


def questions(web: Web) -> int:
    with web.session() as session:
        count = session.scalar(
            select(func.count()).select_from(Message).where(Message.role == Role.USER)
        )
    return int(count or 0)


def test_a_browser_writing_too_fast_gets_429_and_its_message_is_not_stored(
    limited: Web,
) -> None:
    client, csrf = browser(limited, "198.51.100.1")
    assert [ask(client, csrf) for _ in range(3)] == [200, 200, 200]
    refused = client.post(
        "/api/chat/messages", json={"text": "Il quarto messaggio"}, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "20"  # 60 s / 3 messages
    body = refused.json()
    assert body["error"] == "rate_limited" and body["retry_after"] == 20
    assert body["detail"].startswith("Stai scrivendo molto velocemente: aspetta 20 secondi")
    assert questions(limited) == 3  # the refused message reached nobody
    # Votes and buttons count too (as Telegram's taps): the hand-over is refused the same way.
    started = client.post(
        "/api/chat/handover/start", json={"topic": "fiscale"}, headers={"X-CSRF-Token": csrf}
    )
    assert started.status_code == 429
    # Reading is never limited: the page and the thread still load.
    assert client.get("/api/chat").status_code == 200
    # The page without JavaScript: the same sentence on an error page, with the same status.
    form = client.post("/chat", data={"text": QUESTION, "csrf_token": csrf})
    assert form.status_code == 429 and "molto velocemente" in form.text
    assert form.headers["Retry-After"] == "20"


def test_the_allowance_comes_back_after_a_quiet_window(limited: Web) -> None:
    clock = limited.services.clock
    assert isinstance(clock, FrozenClock)
    client, csrf = browser(limited, "198.51.100.2")
    assert [ask(client, csrf) for _ in range(4)] == [200, 200, 200, 429]
    clock.advance(timedelta(seconds=20))
    assert [ask(client, csrf) for _ in range(2)] == [200, 429]  # one place every 20 s
    clock.advance(timedelta(seconds=60))
    assert [ask(client, csrf) for _ in range(4)] == [200, 200, 200, 429]


def test_browsers_are_limited_one_by_one_and_an_address_as_a_whole(limited: Web) -> None:
    first, first_csrf = browser(limited, "198.51.100.3")
    second, second_csrf = browser(limited, "198.51.100.3")  # same office, another browser
    elsewhere, elsewhere_csrf = browser(limited, "192.0.2.9")
    assert [ask(first, first_csrf) for _ in range(4)] == [200, 200, 200, 429]
    # The second browser has its own allowance, but the address only 5 in all.
    assert [ask(second, second_csrf) for _ in range(3)] == [200, 200, 429]
    refused = second.post(
        "/api/chat/messages", json={"text": QUESTION}, headers={"X-CSRF-Token": second_csrf}
    )
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "12"  # 60 s / 5
    # Another address is not affected.
    assert [ask(elsewhere, elsewhere_csrf) for _ in range(3)] == [200, 200, 200]
    assert questions(limited) == 3 + 2 + 3


def test_a_flood_of_sixty_lands_fifteen_at_the_defaults(web: Web) -> None:
    """The issue's reproduction: 60 messages in a row from one browser, at the defaults."""
    client, csrf = browser(web, "198.51.100.4")
    statuses = [ask(client, csrf, f"Domanda numero {n} sul 5 per mille") for n in range(60)]
    assert statuses == [200] * 15 + [429] * 45
    assert questions(web) == 15
