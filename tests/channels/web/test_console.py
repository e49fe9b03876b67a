"""The experts' console: queue filters, claim (one winner), reply, notes, close, agenda,
availability editor, and the pages rendering what the API returns."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sportello.desk import scheduling
from sportello.desk.models import Slot
from tests.channels.web.conftest import Web, login
from tests.desk.factory import open_ticket


def make_ticket(web: Web, topic: str = "fiscale", ref: str = "chat-9") -> int:
    with web.services.sessions.begin() as session:
        return open_ticket(
            session, web.settings, topic=topic, now=web.services.clock.now(), ref=ref
        ).id


def post(client: TestClient, csrf: str, url: str, body: dict | None = None) -> dict:  # type: ignore[type-arg]
    response = client.post(url, json=body or {}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200, (url, response.status_code, response.text)
    return response.json()  # type: ignore[no-any-return]


def test_queue_filters(web: Web) -> None:
    fiscal = make_ticket(web, "fiscale")
    volunteers = make_ticket(web, "volontari")
    client = web.client()
    csrf = login(client, web.people.expert)
    post(client, csrf, f"/api/console/tickets/{fiscal}/claim")

    def codes(**params: object) -> set[int]:
        response = client.get("/api/console/tickets", params=params)
        assert response.status_code == 200, response.text
        return {t["id"] for t in response.json()["tickets"]}

    assert codes() == {fiscal, volunteers}
    assert codes(topic="volontari") == {volunteers}
    assert codes(status="new") == {volunteers}
    assert codes(status="assigned") == {fiscal}
    assert codes(mine="true") == {fiscal}
    assert codes(desk_id=web.world.ascoli) == set()
    with web.services.sessions.begin() as session:
        offer = scheduling.offer_slots_for_ticket(
            fiscal, session=session, settings=web.settings, now=web.services.clock.now()
        )[0]
        scheduling.book(
            fiscal,
            offer.slot_id,
            session=session,
            settings=web.settings,
            now=web.services.clock.now(),
        )
    assert codes(desk_id=offer.desk_id) == {fiscal}
    assert client.get("/api/console/tickets", params={"status": "boh"}).status_code == 400
    page = client.get("/console", params={"topic": "volontari"})
    assert page.status_code == 200 and "Volontari e lavoratori" in page.text


def test_claim_reply_note_close(web: Web) -> None:
    ticket = make_ticket(web)
    luca, marta = web.client(), web.client()
    luca_csrf, marta_csrf = login(luca, web.people.expert), login(marta, web.people.other_expert)
    claimed = post(luca, luca_csrf, f"/api/console/tickets/{ticket}/claim")
    assert claimed["status"] == "assigned" and claimed["assigned_expert_name"]
    late = marta.post(f"/api/console/tickets/{ticket}/claim", headers={"X-CSRF-Token": marta_csrf})
    assert late.status_code == 409 and late.json()["error"] == "conflict"
    assert marta.get(f"/api/console/tickets/{ticket}").json()["can_reply"] is False

    post(luca, luca_csrf, f"/api/console/tickets/{ticket}/notes", {"text": "Richiamare lunedì."})
    answered = post(
        luca,
        luca_csrf,
        f"/api/console/tickets/{ticket}/reply",
        {"text": "Serve l'iscrizione al RUNTS."},
    )
    assert answered["status"] == "answered"
    detail = luca.get(f"/api/console/tickets/{ticket}").json()
    assert [n["text"] for n in detail["notes"]] == ["Richiamare lunedì."]
    assert [e["kind"] for e in detail["events"]] == ["opened", "claimed", "replied"]
    assert detail["can_close"]
    blocked = marta.post(
        f"/api/console/tickets/{ticket}/close",
        json={"outcome": "x"},
        headers={"X-CSRF-Token": marta_csrf},
    )
    assert blocked.status_code == 403
    closed = post(
        luca,
        luca_csrf,
        f"/api/console/tickets/{ticket}/close",
        {"outcome": "Risolto per iscritto."},
    )
    assert closed["status"] == "closed" and closed["outcome"] == "Risolto per iscritto."
    page = luca.get(f"/console/tickets/{ticket}")
    assert page.status_code == 200
    assert "Richiamare lunedì." in page.text and "Risolto per iscritto." in page.text


def test_the_forms_of_the_ticket_page(web: Web) -> None:
    ticket = make_ticket(web)
    client = web.client()
    csrf = login(client, web.people.expert)
    page = client.get(f"/console/tickets/{ticket}")
    assert "Prendi in carico" in page.text
    response = client.post(f"/console/tickets/{ticket}/claim", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"].endswith("?ok=claimed")
    client.post(f"/console/tickets/{ticket}/notes", data={"text": "Nota.", "csrf_token": csrf})
    page = client.get(f"/console/tickets/{ticket}?ok=noted")
    assert "Nota interna salvata" in page.text and "Nota." in page.text
    assert "Annulla il ticket" in page.text
    cancelled = client.post(
        f"/console/tickets/{ticket}/cancel", data={"reason": "doppione", "csrf_token": csrf}
    )
    assert cancelled.status_code == 303
    assert "Annulla il ticket" not in client.get(f"/console/tickets/{ticket}").text
    # A refused action is an error page with the desk's explanation, not a crash.
    again = client.post(f"/console/tickets/{ticket}/reply", data={"text": "x", "csrf_token": csrf})
    assert again.status_code == 409 and "annullato" in again.text


def test_appointments_and_their_calendar_files(web: Web) -> None:
    ticket = make_ticket(web)
    with web.services.sessions.begin() as session:
        offers = scheduling.offer_slots_for_ticket(
            ticket, session=session, settings=web.settings, now=web.services.clock.now()
        )
        mine = next(o for o in offers if o.expert_id == web.world.fiscal)
        booking = scheduling.book(
            ticket,
            mine.slot_id,
            session=session,
            settings=web.settings,
            now=web.services.clock.now(),
        ).id
    luca, marta = web.client(), web.client()
    login(luca, web.people.expert)
    login(marta, web.people.other_expert)
    agenda = luca.get("/api/console/appointments").json()
    soon = mine.starts_at <= web.services.clock.now() + timedelta(days=14)
    assert [a["booking_id"] for a in agenda] == ([booking] if soon else [])
    assert marta.get("/api/console/appointments").json() == []
    ics = luca.get(f"/console/bookings/{booking}.ics")
    assert ics.status_code == 200 and "BEGIN:VEVENT" in ics.text
    assert marta.get(f"/console/bookings/{booking}.ics").status_code == 403
    assert luca.get("/console/appointments").status_code == 200


def test_availability_editor(web: Web) -> None:
    client = web.client()
    csrf = login(client, web.people.expert)
    before = client.get("/api/console/availability").json()
    assert len(before["rules"]) == 2  # Monday and Tuesday mornings at Ascoli

    def slots() -> int:
        with web.services.sessions.begin() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Slot)
                    .where(Slot.expert_id == web.world.fiscal, Slot.withdrawn.is_(False))
                )
                or 0
            )

    with web.services.sessions.begin() as session:
        scheduling.ensure_slots(
            session=session, settings=web.settings, now=web.services.clock.now()
        )
    count = slots()
    assert count > 0
    after = post(
        client,
        csrf,
        "/api/console/availability/rules",
        {
            "desk_id": web.world.sbt,
            "weekday": 3,
            "start": "14:00",
            "end": "16:00",
            "slot_minutes": 60,
        },
    )
    assert len(after["rules"]) == 3 and slots() > count
    overlap = client.post(
        "/api/console/availability/rules",
        json={"desk_id": web.world.sbt, "weekday": 3, "start": "15:00", "end": "17:00"},
        headers={"X-CSRF-Token": csrf},
    )
    assert overlap.status_code == 409
    new_rule = next(r for r in after["rules"] if r["weekday"] == 3)
    gone = client.delete(
        f"/api/console/availability/rules/{new_rule['id']}", headers={"X-CSRF-Token": csrf}
    )
    assert gone.status_code == 200 and slots() == count

    today = web.services.clock.now().date()
    absent = post(
        client,
        csrf,
        "/api/console/availability/absences",
        {
            "first_day": (today + timedelta(days=1)).isoformat(),
            "last_day": (today + timedelta(days=10)).isoformat(),
            "reason": "ferie",
        },
    )
    assert [a["reason"] for a in absent["absences"]] == ["ferie"]
    assert slots() < count
    # Another expert's rule cannot be touched.
    marta = web.client()
    marta_csrf = login(marta, web.people.other_expert)
    rule = before["rules"][0]["id"]
    assert (
        marta.delete(
            f"/api/console/availability/rules/{rule}", headers={"X-CSRF-Token": marta_csrf}
        ).status_code
        == 404
    )
    # The page and its forms.
    page = client.get("/console/availability")
    assert "ferie" in page.text and "Lunedì 09:00–12:00" in page.text
    form = client.post(
        "/console/availability/absences/{}/delete".format(absent["absences"][0]["id"]),
        data={"csrf_token": csrf},
    )
    assert form.status_code == 303 and slots() == count


def test_an_expert_account_without_a_desk_expert(web: Web) -> None:
    client = web.client()
    csrf = login(client, web.people.unlinked_expert)
    ticket = make_ticket(web)
    assert client.get("/api/console/tickets").status_code == 200
    response = client.post(f"/api/console/tickets/{ticket}/claim", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 403 and "non è collegato" in response.json()["detail"]
