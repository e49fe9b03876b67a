"""3. API fuzzing: schemathesis over the app's own OpenAPI description, in process (ASGI).

Every operation is called with generated valid and invalid data as an anonymous visitor, as a
volunteer's browser (chat cookie and CSRF token) and as staff (session and CSRF token). No
call may end in a 5xx, and every error is a JSON body `{"error": …, "detail": …}`.

Nothing is excluded. The streaming endpoint (POST /api/chat/messages) answers JSON unless the
request asks for `text/event-stream`: each generated case is sent both ways and the stream is
read to its end (well-formed events, never an "internal" error event). Only logging out is
left out of the staff run (it would end the session the rest of the run uses; see
test_access.py). The Telegram webhook is not in the schema (see test_access_telegram.py).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from sportello.knowledge.embeddings import Embedder
from tests.channels.web.conftest import Web, build_web, login, open_chat
from tests.trust.conftest import Cases

pytestmark = pytest.mark.trust("fuzzing")
EXAMPLES = {"anonymous": 10, "volunteer": 40, "staff": 40}
# Logging out would end the fuzzing staff session for every later operation (tested apart).
NOT_AS_STAFF = {("POST", "/api/auth/logout")}
STREAMING = ("POST", "/api/chat/messages")


@pytest.fixture(scope="module")
def fuzz_web(
    indexed_template: Path, tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> Iterator[Web]:
    """One instance for the whole module (the `web` fixture's recipe, built once)."""
    # The fuzzer is one browser sending hundreds of requests at a frozen instant: the rate
    # limit (tests/trust/test_flood.py) would stop it at the guard after 15.
    instance = build_web(
        indexed_template,
        tmp_path_factory.mktemp("fuzz"),
        embedder,
        rate_limit_messages=10_000,
        rate_limit_ip_messages=0,
    )
    app, svc = instance.app, instance.services
    yield instance
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # a re-index the fuzzer started must end first
        job = app.state.index_work.latest()
        if job is None or job.status != "running":
            break
        time.sleep(0.2)
    svc.engine.dispose()


@pytest.fixture(scope="module")
def identities(fuzz_web: Web) -> dict[str, dict[str, Any]]:
    """Cookies and headers of each kind of caller."""
    browser = fuzz_web.client()
    chat_csrf = open_chat(browser)
    staff = fuzz_web.client()
    staff_csrf = login(staff, fuzz_web.people.staff)
    return {
        "anonymous": {"name": "anonymous", "cookies": {}, "headers": {}},
        "volunteer": {
            "name": "volunteer",
            "cookies": {"sportello_chat": browser.cookies["sportello_chat"]},
            "headers": {"X-CSRF-Token": chat_csrf},
        },
        "staff": {
            "name": "staff",
            "cookies": {"sportello_session": staff.cookies["sportello_session"]},
            "headers": {"X-CSRF-Token": staff_csrf},
        },
    }


@pytest.fixture(scope="module")
def operations(fuzz_web: Web) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_web.app)
    return [result.ok() for result in schema.get_all_operations()]


STATUSES: dict[str, Counter[int]] = {}


def content_type(response: Any) -> str:
    value = response.headers.get("content-type") or response.headers.get("Content-Type") or ""
    return str(value[0] if isinstance(value, list) else value)


def check_response(response: Any, case: Any) -> None:
    status = response.status_code
    where = f"{case.method} {case.formatted_path} → {status}"
    assert status < 500, f"{where}: {response.text[:500]}"
    if status >= 400:
        assert content_type(response).startswith("application/json"), where
        body = response.json()
        assert isinstance(body, dict) and body.get("error") and body.get("detail"), (where, body)
        assert "Traceback" not in response.text


def check_stream(response: Any, case: Any) -> None:
    """The SSE form of the chat: well-formed events, an answer, never an internal error."""
    check_response(response, case)
    if response.status_code != 200:
        return
    assert content_type(response).startswith("text/event-stream")
    kinds = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        data = json.loads(lines["data"])
        kinds.append(lines["event"])
        assert lines["event"] != "error" or data["error"] != "internal", data
    assert kinds[-1] in ("done", "handover", "error"), kinds


def fuzz(operation: Any, identity: dict[str, Any], examples: int, cases: Cases) -> None:
    """Valid and invalid requests for one operation, each checked."""
    strategies = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
    with contextlib.suppress(Exception):  # some operations have no invalid form to generate
        strategies.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report the first failure
    )
    @given(case=st.one_of(*strategies))
    def call(case: Any) -> None:
        cases.add()
        headers = {**(case.headers or {}), **identity["headers"]}
        response = case.call(headers=headers, cookies=identity["cookies"])
        STATUSES.setdefault(identity["name"], Counter())[response.status_code] += 1
        check_response(response, case)
        if (case.method.upper(), operation.path) == STREAMING:  # the same, streamed
            cases.add()
            sse = {**headers, "Accept": "text/event-stream"}
            check_stream(case.call(headers=sse, cookies=identity["cookies"]), case)

    call()


@pytest.mark.parametrize("who", list(EXAMPLES))
def test_no_server_error_and_json_errors(
    who: str,
    operations: list[Any],
    identities: dict[str, dict[str, Any]],
    cases: Cases,
) -> None:
    chosen = [
        op
        for op in operations
        if who == "anonymous"
        or (who == "volunteer") == op.path.startswith("/api/chat")
        and not (who == "staff" and (op.method.upper(), op.path) in NOT_AS_STAFF)
    ]
    assert chosen
    for operation in chosen:
        fuzz(operation, identities[who], EXAMPLES[who], cases)
    statuses = STATUSES[who]
    if who != "anonymous":  # the fuzzer got past the guards, not stuck at 401/403
        assert sum(n for code, n in statuses.items() if code < 300) >= 50, statuses
        assert statuses[401] < sum(statuses.values()) / 10, statuses
        assert statuses[429] == 0, statuses  # the fuzzer reached the handlers


def test_the_schema_covers_the_api(fuzz_web: Web) -> None:
    paths = TestClient(fuzz_web.app).get("/openapi.json").json()["paths"]
    assert len([m for p in paths.values() for m in p]) >= 40
