"""1. Hostile input: empty, blank, huge, control characters, other scripts, emoji, markup, SQL.

The assistant never crashes and never goes silent; the web API answers 200 or a clear 4xx JSON;
markup a person typed is shown as text in the chat (page and stream), in the experts' console,
in the admin gaps page and on Telegram; SQL fragments are stored as they were typed.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from sportello.answering.assistant import Assistant
from sportello.answering.schemas import Action, Citation, Reply
from sportello.channels.telegram.render import delivery_html, reply_html, split_html, step_html
from sportello.channels.telegram.texts import Texts
from sportello.channels.web.templating import STATIC_DIR
from sportello.conversations.models import Message
from sportello.desk.handover import Step, StepResult
from sportello.desk.models import OutboxKind
from sportello.desk.schemas import Delivery
from tests.channels.web.conftest import Web, login, open_chat
from tests.channels.web.test_admin import staff, upload
from tests.channels.web.test_chat import choose, events

pytestmark = pytest.mark.trust("input")

QUESTION = "Come si iscrive un'associazione al RUNTS?"
SCRIPT = "<script>alert('xss')</script>"
IMG = '<img src=x onerror="alert(1)">'
HOSTILE: dict[str, str] = {
    "empty": "",
    "whitespace": " \t\n\r  \u3000\u00a0 ",
    "zero-width only": "\u200b\u200c\u200d\ufeff",
    "punctuation only": "?!?!... ;;; ---",
    "100k characters": ("Come si iscrive un'associazione al RUNTS? " * 2400)[:100_000],
    "100k one word": "a" * 100_000,
    "control characters": "\x00\x01\x07\x08\x1b[31mCome si iscrive\x7f al RUNTS?\x00\r\n\x0c",
    "mixed scripts": "Come si iscrive una ODV al RUNTS? Как зарегистрировать 協会 جمعية εταιρεία",
    "right-to-left override": "\u202eRUNTS la evircsi is emoC\u202c",
    "emoji": "🙏🏽 come funziona il 5 per mille? 👨‍👩‍👧‍👦🇮🇹🤖💶",
    "html and script": f"{SCRIPT}{IMG} {QUESTION}",
    "sql fragments": "'; DROP TABLE messages; -- \" OR 1=1 -- UNION SELECT * FROM users; "
    + QUESTION,
    "format strings": "{0} {text} %s %(name)s {{}} ${jndi:ldap://x} {{7*7}} " + QUESTION,
    "markdown and links": "[clicca](javascript:alert(1)) **grassetto** `codice` " + QUESTION,
    "only emoji": "🙂🙂🙂",
    "newlines": "\n".join(["riga"] * 500),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_the_assistant_answers_anything_without_crashing(assistant: Assistant, name: str) -> None:
    text = HOSTILE[name]
    reply = assistant.reply([], text)
    assert isinstance(reply, Reply)
    assert reply.text.strip(), f"{name}: empty reply"
    streamed = [p for p in assistant.stream([], text) if isinstance(p, str)]
    assert "".join(streamed).strip()
    if name.startswith("100k"):
        assert reply.action == Action.REFUSE and reply.reason == "too_long"
        assert "100000" in reply.text.replace(".", "").replace(" ", "")
    if name in ("empty", "whitespace", "zero-width only", "punctuation only"):
        assert reply.action == Action.REFUSE and reply.reason == "empty"


@pytest.mark.parametrize("name", list(HOSTILE))
def test_the_chat_api_answers_or_refuses_clearly(web: Web, name: str) -> None:
    client = web.client()
    csrf = open_chat(client)
    response = client.post(
        "/api/chat/messages", json={"text": HOSTILE[name]}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code in (200, 400, 422), (
        name,
        response.status_code,
        response.text[:300],
    )
    body = response.json()
    if response.status_code == 200:
        assert body["message"]["text"].strip()
    else:
        assert set(body) >= {"error", "detail"} and body["detail"], body
    # The page still renders, whatever was stored.
    assert client.get("/").status_code == 200


def test_text_is_stored_exactly_as_typed(web: Web) -> None:
    client = web.client()
    csrf = open_chat(client)
    text = HOSTILE["sql fragments"]
    response = client.post(
        "/api/chat/messages", json={"text": text}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200, response.text
    with web.services.sessions.begin() as session:
        stored = session.scalars(select(Message.text).where(Message.role == "user")).all()
        assert stored == [text]
        assert session.scalar(select(func.count()).select_from(Message)) == 2
    searched = client.get("/api/kb/search", params={"q": "'; DROP TABLE kb_documents; --"})
    assert searched.status_code == 200
    login_attempt = client.post(
        "/api/auth/login", json={"username": "' OR '1'='1' --", "password": "' OR '1'='1"}
    )
    assert login_attempt.status_code == 401 and login_attempt.json()["error"] == "unauthorized"


def test_lone_surrogates_in_json_are_answered_not_crashed(web: Web) -> None:
    """JSON may carry "\\ud800", which no database can store as UTF-8."""
    client = web.client()
    csrf = open_chat(client)
    body = '{"text": "Come si iscrive al RUNTS? \\ud800 \\udfff fine"}'
    response = client.post(
        "/api/chat/messages",
        content=body,
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
    )
    assert response.status_code in (200, 400, 422), response.text[:300]
    assert response.json().get("message") or response.json().get("error")


# --- never rendered as markup ------------------------------------------------------------------


def no_live_markup(html: str) -> None:
    assert "<script>alert" not in html and "<img src=x" not in html, html[:500]
    assert "&lt;script&gt;" in html


def test_the_web_chat_shows_markup_as_text(web: Web) -> None:
    client = web.client()
    csrf = open_chat(client)
    text = HOSTILE["html and script"]
    streamed = client.post(
        "/api/chat/messages",
        json={"text": text},
        headers={"X-CSRF-Token": csrf, "Accept": "text/event-stream"},
    )
    assert streamed.status_code == 200
    done = dict(events(streamed.text))["done"]
    assert "<script" not in done["html"] and "<img" not in done["html"]
    # The page escapes the person's own message (what the stream's "delta" texts are set as:
    # static/chat.js inserts them with textContent, never innerHTML).
    page = client.get("/").text
    no_live_markup(page)
    chat_js = (STATIC_DIR / "chat.js").read_text()
    assert re.search(r"body\.textContent \+= data\.text", chat_js)
    html_sinks = re.findall(r"(\w+)\.innerHTML\s*=\s*([^;]+);", chat_js)
    assert all("html" in value for _, value in html_sinks), html_sinks  # only server-made HTML


def test_the_console_ticket_page_shows_markup_as_text(web: Web) -> None:
    volunteer = web.client()
    csrf = open_chat(volunteer)
    volunteer.post(
        "/api/chat/handover/start", json={"topic": "fiscale"}, headers={"X-CSRF-Token": csrf}
    )
    choose(volunteer, csrf, "topic:yes")
    case = f"{SCRIPT} Siamo una APS {IMG} e abbiamo un dubbio sul 5 per mille."
    described = volunteer.post(
        "/api/chat/messages", json={"text": case}, headers={"X-CSRF-Token": csrf}
    ).json()
    assert described["handover"]["step"] == "choose_mode"
    done = choose(volunteer, csrf, "mode:written")
    expert = web.client()
    token = login(expert, web.people.expert)
    queue = expert.get("/api/console/tickets").json()["tickets"]
    ticket = next(t for t in queue if t["code"] == done["ticket_code"])
    no_live_markup(expert.get("/console").text)
    no_live_markup(expert.get(f"/console/tickets/{ticket['id']}").text)
    # An expert's reply and note with markup come back as text too.
    for path, body in (
        ("notes", {"text": f"nota {SCRIPT}"}),
        ("reply", {"text": f"risposta {SCRIPT}"}),
    ):
        response = expert.post(
            f"/api/console/tickets/{ticket['id']}/{path}",
            json=body,
            headers={"X-CSRF-Token": token},
        )
        assert response.status_code == 200, response.text
    no_live_markup(expert.get(f"/console/tickets/{ticket['id']}").text)
    no_live_markup(volunteer.get("/").text)
    # The person's question, refused or escalated, is listed among the gaps: as text.
    volunteer.post("/api/chat/handover/leave", headers={"X-CSRF-Token": csrf})
    asked = volunteer.post(
        "/api/chat/messages", json={"text": f"{SCRIPT} oroscopo?"}, headers={"X-CSRF-Token": csrf}
    )
    assert asked.status_code == 200, asked.text
    staff = web.client()
    login(staff, web.people.staff)
    gaps = staff.get("/admin/gaps").text
    assert "oroscopo" in gaps
    no_live_markup(gaps)


def test_telegram_renders_markup_as_text() -> None:
    texts = Texts.load()
    citation = Citation(
        number=1,
        doc_id="d",
        chunk_id="c",
        title=f"Titolo {SCRIPT}",
        heading="<b>Sezione</b>",
        link="javascript:alert(1)",
    )
    reply = Reply(
        text=f"{SCRIPT} <b>finto</b> & {IMG} [1]",
        action=Action.ANSWER,
        confidence=1.0,
        citations=(citation,),
    )
    step = StepResult(Step.DESCRIBE_CASE, f"Caso: {SCRIPT}")
    delivery = Delivery(
        id=1,
        idempotency_key="k",
        channel="telegram",
        recipient="1",
        kind=OutboxKind.EXPERT_REPLY,
        subject=f"<i>{SCRIPT}</i>",
        body=f"Risposta {IMG} <a href='javascript:alert(1)'>x</a>",
        payload={},
        attempt=0,
    )
    for rendered in (reply_html(reply, texts), step_html(step, texts), delivery_html(delivery)):
        tags = set(re.findall(r"<\s*/?\s*([a-zA-Z]+)", rendered))
        assert tags <= {"b", "i", "a"}, (tags, rendered)
        assert "<script" not in rendered and "<img" not in rendered, rendered
        assert "&lt;script&gt;" in rendered or "&lt;img" in rendered
        hrefs = re.findall(r'href="([^"]*)"', rendered)
        assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    # A huge message of markup splits into valid parts, never inside an entity.
    parts = split_html(
        reply_html(Reply(text="<&>" * 5000, action=Action.ANSWER, confidence=1.0), texts)
    )
    assert len(parts) > 1 and all(not re.search(r"&[#a-z0-9]*$", p) for p in parts)


def test_a_documents_source_link_is_never_a_script(web: Web) -> None:
    """Front matter needs one http(s) source, but may list others first: the link people
    click is always the first http(s) one."""
    document = (
        "---\ntitle: Registro dei volontari\ntopic: volontari\nsources:\n"
        "  - javascript:alert(document.cookie)\n  - https://www.lavoro.gov.it/\n"
        "reviewed: 2026-10-01\n---\n# Registro dei volontari\n\n"
        "## Chi va scritto nel registro dei volontari?\n"
        "Nel registro dei volontari vanno scritti i volontari non occasionali dell'ente.\n"
    )
    client, csrf = staff(web)
    status, body = upload(client, csrf, "registro.md", document.encode())
    assert status == 200, body
    volunteer = web.client()
    chat_csrf = open_chat(volunteer)
    answer = volunteer.post(
        "/api/chat/messages",
        json={"text": "Chi va scritto nel registro dei volontari?"},
        headers={"X-CSRF-Token": chat_csrf},
    ).json()["message"]
    links = [c["link"] for c in answer["citations"]]
    assert "https://www.lavoro.gov.it/" in links and not any("javascript" in x for x in links)
    assert "javascript:" not in volunteer.get("/").text
