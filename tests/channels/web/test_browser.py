"""Real headless Chromium (Debian's package) driven by Playwright against a real uvicorn server:
a volunteer books, an expert's reply reaches the volunteer's open page, staff upload and find.

Screenshots go to test-output/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.channels.web.conftest import PASSWORD, Web
from tests.conftest import TEST_OUTPUT
from tests.desk.factory import booked_and_answered

# On CI a missing browser or driver is a failure, not a skip: .ci/run installs both.
ON_CI = bool(os.environ.get("CI"))
sync_api = (
    importlib.import_module("playwright.sync_api")
    if ON_CI
    else pytest.importorskip("playwright.sync_api")
)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not ON_CI and not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"
    ),
]
QUESTION = "Quali documenti servono per iscriversi al RUNTS?"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(web: Web) -> Iterator[str]:
    """The app on a free loopback port, with its lifespan (web deliveries every second)."""
    web.services.settings.web_poll_seconds = 1.0
    port = free_port()
    config = uvicorn.Config(
        web.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


def new_page(browser: object, **context: object) -> object:
    page = browser.new_context(locale="it-IT", **context).new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(20_000)
    return page


def shot(page: object, name: str) -> Path:
    TEST_OUTPUT.mkdir(exist_ok=True)
    path = TEST_OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def ask(page: object, text: str) -> None:
    """Type a question and send it with the keyboard; wait for the streamed reply to settle."""
    answered = page.locator("#messages > li.msg-assistant[data-id]").count()  # type: ignore[attr-defined]
    page.locator("#question").fill(text)  # type: ignore[attr-defined]
    page.locator("#question").press("Enter")  # type: ignore[attr-defined]
    page.locator("#messages > li.msg-assistant[data-id]").nth(answered).wait_for()  # type: ignore[attr-defined]


def press(page: object, label: str) -> None:
    page.get_by_role("button", name=label).first.click()  # type: ignore[attr-defined]


def start_handover(page: object, case: str) -> None:
    press(page, "Parla con un esperto")
    page.locator("#handover").wait_for()  # type: ignore[attr-defined]
    if page.get_by_role("button", name="Sì, è questo").count() == 0:  # type: ignore[attr-defined]
        press(page, "Fisco e 5 per mille")
    press(page, "Sì, è questo")
    box = page.get_by_label("Descrivi il tuo caso")  # type: ignore[attr-defined]
    box.wait_for()
    assert page.evaluate("document.activeElement.id") == "question"  # type: ignore[attr-defined]
    box.fill(case)
    box.press("Enter")
    page.locator("#handover").wait_for()  # type: ignore[attr-defined]


def test_a_volunteer_asks_hands_over_and_books(web: Web, server: str, browser: object) -> None:
    page = new_page(browser)
    page.goto(server + "/")  # type: ignore[attr-defined]
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    assert page.evaluate("document.activeElement.textContent.trim()") == "Vai al contenuto"  # type: ignore[attr-defined]
    ask(page, QUESTION)
    reply = page.locator("#messages > li.msg-assistant").last  # type: ignore[attr-defined]
    source = reply.locator(".sources a").first
    assert re.match(r"https?://", source.get_attribute("href") or "")
    assert reply.locator("a.cite").count() >= 1
    shot(page, "volunteer-1-cited-answer")

    start_handover(page, "Siamo una APS di Ascoli e vogliamo iscriverci al 5 per mille.")
    press(page, "📅 Appuntamento")
    picker = page.get_by_role("group", name="Scegli un orario")  # type: ignore[attr-defined]
    picker.wait_for()
    shot(page, "volunteer-2-slot-picker")
    picker.get_by_role("button").first.click()
    press(page, "✅ Conferma")
    page.get_by_role("heading", name="Appuntamento confermato").wait_for()  # type: ignore[attr-defined]
    link = page.get_by_role("link", name="Aggiungi al calendario (.ics)")  # type: ignore[attr-defined]
    ics = page.request.get(server + (link.get_attribute("href") or ""))  # type: ignore[attr-defined]
    assert ics.ok and "BEGIN:VCALENDAR" in ics.text()
    shot(page, "volunteer-3-confirmation")

    phone = new_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.goto(server + "/")  # type: ignore[attr-defined]
    ask(phone, QUESTION)
    width = phone.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert width <= 390, f"the chat scrolls sideways on a phone ({width}px)"
    shot(phone, "volunteer-4-phone")


def test_an_expert_claims_replies_and_the_volunteer_sees_it(
    web: Web, server: str, browser: object
) -> None:
    volunteer = new_page(browser)
    volunteer.goto(server + "/")  # type: ignore[attr-defined]
    ask(volunteer, "Come si iscrive un ente al 5 per mille?")
    start_handover(volunteer, "La nostra ODV non sa se può chiedere il 5 per mille quest'anno.")
    press(volunteer, "✍️ Risposta scritta")
    volunteer.get_by_text("Ho aperto la richiesta").wait_for()  # type: ignore[attr-defined]
    code = re.search(r"SPT-\d{4}-\d{4}", volunteer.content()).group(0)  # type: ignore[attr-defined, union-attr]

    expert = new_page(browser)
    expert.goto(server + "/console")  # type: ignore[attr-defined]
    expert.get_by_label("Nome utente").fill(web.people.expert)  # type: ignore[attr-defined]
    expert.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    expert.get_by_label("Password").press("Enter")  # type: ignore[attr-defined]
    expert.get_by_role("heading", name="Coda delle richieste").wait_for()  # type: ignore[attr-defined]
    shot(expert, "expert-1-queue")
    expert.get_by_role("link", name=code).click()  # type: ignore[attr-defined]
    press(expert, "Prendi in carico")
    expert.get_by_text("Hai preso in carico il ticket.").wait_for()  # type: ignore[attr-defined]
    answer = "Sì: dopo l'iscrizione al RUNTS potete accreditarvi dal portale."
    expert.get_by_label("Risposta scritta alla persona").fill(answer)  # type: ignore[attr-defined]
    press(expert, "Invia risposta")
    expert.get_by_text("Risposta inviata").wait_for()  # type: ignore[attr-defined]
    shot(expert, "expert-2-ticket")

    # The volunteer's page is still open: the reply arrives without reloading.
    volunteer.locator("#messages > li.msg-expert", has_text="portale").wait_for()  # type: ignore[attr-defined]
    shot(volunteer, "expert-3-reply-in-volunteer-chat")
    # Writing back goes to the expert's ticket, in place (no reload, no duplicate).
    volunteer.reload()  # type: ignore[attr-defined]
    box = volunteer.get_by_label(re.compile("Messaggio per l'esperto"))  # type: ignore[attr-defined]
    box.fill("Grazie, e il rendiconto?")
    box.press("Enter")
    volunteer.locator("#messages > li.msg-user[data-id]", has_text="rendiconto").wait_for()  # type: ignore[attr-defined]
    assert volunteer.locator("#messages > li.msg-user", has_text="rendiconto").count() == 1  # type: ignore[attr-defined]


def test_staff_upload_reindex_and_find_it(
    web: Web, server: str, browser: object, tmp_path: Path
) -> None:
    document = tmp_path / "sagre-e-feste.md"
    document.write_text(
        "---\ntitle: Sagre e feste di paese\ntopic: fiscale\nsources:\n"
        "  - https://www.agenziaentrate.gov.it/\nreviewed: 2026-10-01\n---\n"
        "# Sagre e feste di paese\n\n## Serve la SCIA per una sagra?\n"
        "Per una sagra con somministrazione di cibo l'associazione presenta la SCIA "
        "temporanea al Comune almeno dieci giorni prima della festa.\n",
        encoding="utf-8",
    )
    # Some activity for the dashboard: questions, a vote, a ticket with a written reply.
    volunteer = web.client()
    chat = volunteer.get("/").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    for text in (QUESTION, "Come si iscrive un ente al 5 per mille?", "Chi vince il campionato?"):
        reply = volunteer.post(
            "/api/chat/messages", json={"text": text}, headers={"X-CSRF-Token": chat}
        ).json()["message"]
    volunteer.post(
        f"/api/chat/messages/{reply['id']}/feedback",
        json={"value": -1},
        headers={"X-CSRF-Token": chat},
    )
    with web.services.sessions.begin() as session:
        booked_and_answered(
            session,
            web.settings,
            web.world.volunteers,
            now=web.services.clock.now(),
            answered_topic="volontari",
            reply="Ecco la risposta.",
        )

    page = new_page(browser)
    page.goto(server + "/admin/documents")  # type: ignore[attr-defined]
    page.get_by_label("Nome utente").fill(web.people.staff)  # type: ignore[attr-defined]
    page.get_by_label("Password").fill(PASSWORD)  # type: ignore[attr-defined]
    press(page, "Accedi")
    page.get_by_role("heading", name="Base di conoscenza").wait_for()  # type: ignore[attr-defined]
    page.get_by_label(re.compile("^File")).set_input_files(str(document))  # type: ignore[attr-defined]
    press(page, "Carica e indicizza")
    page.get_by_text("Documento caricato e indicizzato.").wait_for()  # type: ignore[attr-defined]
    press(page, "Re-indicizza ora")
    page.locator("#job-progress").wait_for()  # type: ignore[attr-defined]
    page.locator("#job-status", has_text="completata").wait_for()  # type: ignore[attr-defined]
    assert page.get_by_role("rowheader", name=re.compile("Sagre e feste di paese")).count() == 1  # type: ignore[attr-defined]
    shot(page, "staff-1-documents")

    page.get_by_role("link", name="Prova una domanda").click()  # type: ignore[attr-defined]
    page.get_by_label("Domanda").fill("Serve la SCIA per organizzare una sagra?")  # type: ignore[attr-defined]
    press(page, "Cerca")
    first = page.locator("table.hits tbody tr").first  # type: ignore[attr-defined]
    assert "Sagre e feste di paese" in first.inner_text()
    assert page.get_by_role("heading", name="La risposta che darebbe il bot").count() == 1  # type: ignore[attr-defined]
    shot(page, "staff-2-try-a-question")

    page.get_by_role("link", name="Cruscotto").click()  # type: ignore[attr-defined]
    page.get_by_role("heading", name="Domande al giorno").wait_for()  # type: ignore[attr-defined]
    shot(page, "staff-3-dashboard")
