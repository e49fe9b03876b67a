"""The public chat: cited answers (streamed and not), votes, the hand-over to an expert with a
slot and its .ics, an expert's reply arriving, and one browser never seeing another's."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from sportello.channels.web.delivery import deliver_now
from sportello.conversations.models import Feedback
from sportello.desk.models import OutboxKind, OutboxMessage, OutboxStatus, Ticket
from tests.channels.web.conftest import Web, login, open_chat

QUESTION = "Quali documenti servono per iscriversi al RUNTS?"


def ask(client: TestClient, csrf: str, text: str = QUESTION) -> dict:  # type: ignore[type-arg]
    response = client.post(
        "/api/chat/messages", json={"text": text}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def choose(client: TestClient, csrf: str, key: str) -> dict:  # type: ignore[type-arg]
    response = client.post(
        "/api/chat/handover/choose", json={"key": key}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def events(body: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    found = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def slot_at(step: dict, desk: str) -> dict:  # type: ignore[type-arg]
    """The first slot button at `desk` (buttons name day, time, desk and expert)."""
    found = [c for c in step["choices"] if c["kind"] == "slot" and desk in c["label"]]
    assert found, f"no slot at {desk}: {[c['label'] for c in step['choices']]}"
    return found[0]  # type: ignore[no-any-return]


# Luca (the world's fiscal expert, linked to the "luca" account) receives at this desk only.
LUCAS_DESK = "Sportello ascoli"


def book_appointment(client: TestClient, csrf: str) -> dict:  # type: ignore[type-arg]
    """Ask, then hand over on the fiscal topic and book one of Luca's slots (at his desk)."""
    ask(client, csrf, "Come si iscrive un ente al 5 per mille?")
    started = client.post(
        "/api/chat/handover/start", json={"topic": "fiscale"}, headers={"X-CSRF-Token": csrf}
    ).json()
    assert started["step"] == "confirm_topic"
    assert choose(client, csrf, "topic:yes")["step"] == "describe_case"
    described = ask(
        client, csrf, "Siamo una APS appena iscritta al RUNTS e vogliamo il 5 per mille."
    )
    assert described["handover"]["step"] == "choose_mode"
    slots = choose(client, csrf, "mode:appointment")
    assert slots["step"] == "pick_slot"
    assert choose(client, csrf, slot_at(slots, LUCAS_DESK)["key"])["step"] == "confirm"
    done = choose(client, csrf, "confirm:yes")
    assert done["step"] == "done" and done["booking_id"], done
    return done


def test_a_question_gets_a_cited_answer(web: Web) -> None:
    client = web.client()
    csrf = open_chat(client)
    answer = ask(client, csrf)
    message = answer["message"]
    assert message["action"] == "answer"
    assert message["citations"] and message["citations"][0]["link"].startswith("http")
    page = client.get("/")
    assert "Quali documenti servono" in page.text
    assert f'href="{message["citations"][0]["link"]}"' in page.text  # sources are links
    assert 'class="cite"' in page.text


def test_the_reply_streams_as_server_sent_events(web: Web) -> None:
    client = web.client()
    csrf = open_chat(client)
    response = client.post(
        "/api/chat/messages",
        json={"text": QUESTION},
        headers={"X-CSRF-Token": csrf, "Accept": "text/event-stream"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    found = events(response.text)
    kinds = [k for k, _ in found]
    assert kinds[0] == "delta" and kinds[-1] == "done"
    done = found[-1][1]
    assert done["message"]["citations"]
    assert "<ol>" in done["html"] and 'rel="noopener noreferrer"' in done["html"]
    streamed = "".join(d["text"] for k, d in found if k == "delta")
    assert streamed.strip()


def test_the_page_works_without_javascript(web: Web) -> None:
    client = web.client()
    csrf = open_chat(client)
    response = client.post("/chat", data={"text": QUESTION, "csrf_token": csrf})
    assert response.status_code == 303
    page = client.get("/")
    assert "Fonti" in page.text and "Ti è stata utile?" in page.text


def test_votes(web: Web) -> None:
    client = web.client()
    csrf = open_chat(client)
    message_id = ask(client, csrf)["message"]["id"]
    url = f"/api/chat/messages/{message_id}/feedback"
    assert client.post(url, json={"value": 1}, headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.post(url, json={"value": -1}, headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.post(url, json={"value": 5}, headers={"X-CSRF-Token": csrf}).status_code == 400
    with web.services.sessions.begin() as session:
        votes = list(session.scalars(select(Feedback)))
        assert [v.value for v in votes] == [-1]
    form = client.post(
        "/chat/feedback", data={"message_id": message_id, "value": 1, "csrf_token": csrf}
    )
    assert form.status_code == 303
    assert 'aria-pressed="true"' in client.get("/").text


def test_hand_over_book_and_get_the_calendar_file(web: Web) -> None:
    client = web.client()
    csrf = open_chat(client)
    done = book_appointment(client, csrf)
    booking_id = done["booking_id"]
    page = client.get(f"/chat/appointments/{booking_id}")
    assert page.status_code == 200
    assert "Appuntamento confermato" in page.text and done["ticket_code"] in page.text
    ics = client.get(f"/chat/appointments/{booking_id}.ics")
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in ics.text and done["ticket_code"] in ics.text
    # The desk's confirmation reaches the web thread through the outbox.
    assert deliver_now(web.services) >= 1
    messages = client.get("/api/chat/messages?after=0").json()["messages"]
    assert any(m["role"] == "system" and "confermato" in m["text"] for m in messages)
    assert deliver_now(web.services) == 0  # delivered once
    chat = client.get("/")
    assert f"/chat/appointments/{booking_id}" in chat.text  # "I tuoi appuntamenti"


def test_hand_over_through_the_forms(web: Web) -> None:
    client = web.client()
    csrf = open_chat(client)
    assert (
        client.post(
            "/chat/handover/start", data={"topic": "fiscale", "csrf_token": csrf}
        ).status_code
        == 303
    )
    page = client.get("/")
    assert 'id="handover"' in page.text and "È il tema giusto?" in page.text
    client.post("/chat/handover/choose", data={"key": "topic:yes", "csrf_token": csrf})
    page = client.get("/")
    assert '<label for="question">Descrivi il tuo caso</label>' in page.text
    client.post(
        "/chat", data={"text": "Vorremmo capire come accedere al 5 per mille.", "csrf_token": csrf}
    )
    client.post("/chat/handover/choose", data={"key": "mode:appointment", "csrf_token": csrf})
    page = client.get("/")
    assert "Scegli un orario" in page.text
    key = page.text.split('name="key" value="slot:', 1)[1].split('"', 1)[0]
    client.post("/chat/handover/choose", data={"key": f"slot:{key}", "csrf_token": csrf})
    done = client.post("/chat/handover/choose", data={"key": "confirm:yes", "csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"].startswith("/chat/appointments/")
    assert "Appuntamento confermato" in client.get(done.headers["location"]).text


def test_an_expert_reply_appears_in_the_volunteer_chat(web: Web) -> None:
    volunteer = web.client()
    csrf = open_chat(volunteer)
    ask(volunteer, csrf)
    volunteer.post(
        "/api/chat/handover/start", json={"topic": "fiscale"}, headers={"X-CSRF-Token": csrf}
    )
    choose(volunteer, csrf, "topic:yes")
    ask(volunteer, csrf, "Abbiamo un dubbio sul 5 per mille per la nostra ODV.")
    written = choose(volunteer, csrf, "mode:written")
    assert written["step"] == "done" and written["ticket_code"]
    last = volunteer.get("/api/chat/messages?after=0").json()["messages"][-1]["id"]

    expert = web.client()
    token = login(expert, web.people.expert)
    queue = expert.get("/api/console/tickets").json()["tickets"]
    ticket = next(t for t in queue if t["code"] == written["ticket_code"])
    detail = expert.get(f"/api/console/tickets/{ticket['id']}").json()
    assert any(m["citations"] for m in detail["messages"])  # the bot's cited answer
    reply = expert.post(
        f"/api/console/tickets/{ticket['id']}/reply",
        json={"text": "Sì, potete iscrivervi dal portale RUNTS."},
        headers={"X-CSRF-Token": token},
    )
    assert reply.status_code == 200 and reply.json()["status"] == "answered"

    new = volunteer.get(f"/api/chat/messages?after={last}").json()
    assert [m["role"] for m in new["messages"]] == ["expert"]
    assert "portale RUNTS" in new["html"]
    deliver_now(web.services)
    with web.services.sessions.begin() as session:
        row = session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.EXPERT_REPLY)
        )
        assert row is not None and row.status == OutboxStatus.SENT and row.channel == "web"
    # Written while the ticket is open, a message goes to the expert instead of the bot.
    assert "Messaggio per l'esperto" in volunteer.get("/").text
    relayed = ask(volunteer, csrf, "Grazie! E per il rendiconto?")
    assert relayed["handover"]["step"] == "done"
    thread = expert.get(f"/api/console/tickets/{ticket['id']}").json()["messages"]
    assert thread[-1]["text"] == "Grazie! E per il rendiconto?"


def test_one_browser_never_reads_another(web: Web) -> None:
    alice, bob = web.client(), web.client()
    alice_csrf, bob_csrf = open_chat(alice), open_chat(bob)
    done = book_appointment(alice, alice_csrf)
    alice_messages = alice.get("/api/chat/messages?after=0").json()["messages"]
    assert alice_messages
    # Bob's thread is his own.
    assert bob.get("/api/chat/messages?after=0").json()["messages"] == []
    assert bob.get("/api/chat").json()["state"]["messages"] == []
    assert "Come si iscrive un ente" not in bob.get("/").text
    assert bob.get("/api/chat/appointments").json() == []
    # Nothing of Alice's is reachable by id from Bob's browser.
    booking = done["booking_id"]
    assert bob.get(f"/chat/appointments/{booking}").status_code == 404
    assert bob.get(f"/chat/appointments/{booking}.ics").status_code == 404
    assert bob.get(f"/api/chat/appointments/{booking}").status_code == 404
    assert (
        bob.post(
            f"/api/chat/appointments/{booking}/cancel", headers={"X-CSRF-Token": bob_csrf}
        ).status_code
        == 404
    )
    reply_id = next(m["id"] for m in alice_messages if m["role"] == "assistant")
    assert (
        bob.post(
            f"/api/chat/messages/{reply_id}/feedback",
            json={"value": -1},
            headers={"X-CSRF-Token": bob_csrf},
        ).status_code
        == 404
    )
    # Alice's token is useless in Bob's browser: it is tied to her cookie.
    assert (
        bob.post(
            "/api/chat/messages", json={"text": "ciao"}, headers={"X-CSRF-Token": alice_csrf}
        ).status_code
        == 403
    )
    # The database keeps a hash, never the cookie itself.
    with web.services.sessions.begin() as session:
        ticket = session.scalar(select(Ticket))
        assert ticket is not None and ticket.volunteer_ref
        assert alice.cookies["sportello_chat"] not in ticket.volunteer_ref


def test_chat_changes_need_the_cookie_and_the_token(web: Web) -> None:
    stranger = web.client()
    response = stranger.post("/api/chat/messages", json={"text": QUESTION})
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    client = web.client()
    csrf = open_chat(client)
    assert client.post("/api/chat/messages", json={"text": QUESTION}).status_code == 403
    assert (
        client.post(
            "/api/chat/messages", json={"text": QUESTION}, headers={"X-CSRF-Token": "nope"}
        ).status_code
        == 403
    )
    assert client.post("/chat", data={"text": QUESTION}).status_code == 403
    assert (
        client.post("/chat", data={"text": QUESTION, "csrf_token": csrf[::-1]}).status_code == 403
    )
    assert client.post("/chat/handover/start", data={}).status_code == 403
    assert (
        client.post(
            "/api/chat/messages", json={"text": "  "}, headers={"X-CSRF-Token": csrf}
        ).status_code
        == 400
    )


def test_a_volunteer_can_erase_their_data(web: Web) -> None:
    client = web.client()
    csrf = open_chat(client)
    ask(client, csrf)
    response = client.post("/chat/erase", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert "sportello_chat" not in client.cookies
    fresh = client.get("/")
    assert "Quali documenti servono" not in fresh.text
