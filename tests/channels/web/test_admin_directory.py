"""The admin's desks, experts and accounts over HTTP: forms that keep what was typed, deciding
about bookings before a deactivation, the demo removal button, accounts (disable, role, reset)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from sportello.desk import scheduling, seed
from sportello.desk.models import Booking, BookingStatus, Expert, HelpDesk
from tests.channels.web.conftest import PASSWORD, Web, login, open_chat
from tests.channels.web.test_chat import book_appointment
from tests.conftest import NOW


def staff(web: Web) -> tuple[TestClient, str]:
    client = web.client()
    return client, login(client, web.people.staff)


def form(client: TestClient, csrf: str, url: str, **data: object) -> object:
    return client.post(url, data={"csrf_token": csrf, **data})


def test_desks_are_added_and_edited_and_a_bad_form_keeps_what_was_typed(web: Web) -> None:
    client, csrf = staff(web)
    page = client.get("/admin/desks")
    assert page.status_code == 200 and "Sportello ascoli" in page.text
    bad = client.post(
        "/admin/desks",
        data={
            "csrf_token": csrf,
            "name": "Sportello di Fermo",
            "kind": "in_person",
            "opening_notes": "Martedì 9-12",
        },
    )
    assert bad.status_code == 400
    assert "ha bisogno dell&#39;indirizzo" in bad.text
    assert 'value="Sportello di Fermo"' in bad.text and "Martedì 9-12</textarea>" in bad.text
    no_token = client.post("/admin/desks", data={"name": "X", "address": "Via 1"})
    assert no_token.status_code == 403
    done = client.post(
        "/admin/desks",
        data={"csrf_token": csrf, "name": "Sportello di Fermo", "address": "Corso Cavour 1, Fermo"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/admin/desks?ok=desk_saved"
    assert "Sportello salvato." in client.get(done.headers["location"]).text
    with web.session() as s:
        fermo = s.scalars(select(HelpDesk).where(HelpDesk.slug == "sportello-di-fermo")).one()
    edit = client.post(
        f"/admin/desks/{fermo.id}",
        data={
            "csrf_token": csrf,
            "name": "Fermo online",
            "kind": "online",
            "meeting_link": "ftp://stanza",
        },
    )
    assert edit.status_code == 400 and "deve iniziare con https://" in edit.text
    assert 'value="Fermo online"' in edit.text
    with web.session() as s:  # the rejected edit stored nothing
        assert s.get(HelpDesk, fermo.id).name == "Sportello di Fermo"  # type: ignore[union-attr]
    api = client.put(
        f"/api/admin/desks/{fermo.id}",
        json={
            "name": "Fermo online",
            "kind": "online",
            "meeting_link": "https://meet.example.org/fermo",
        },
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 200 and api.json()["meeting_link"] == "https://meet.example.org/fermo"
    missing = client.put(
        "/api/admin/desks/999",
        json={"name": "X", "address": "Via 1"},
        headers={"X-CSRF-Token": csrf},
    )
    assert (
        missing.status_code == 404
        and missing.json()["detail"] == "Nessuno sportello con codice 999."
    )


def test_experts_topics_contact_and_weekly_openings(web: Web) -> None:
    client, csrf = staff(web)
    headers = {"X-CSRF-Token": csrf}
    bad = client.post(
        "/api/admin/experts", json={"name": "Giulia Rossi", "topics": []}, headers=headers
    )
    assert (
        bad.status_code == 400
        and bad.json()["detail"] == "Indica almeno un tema seguito dall'esperto."
    )
    made = client.post(
        "/api/admin/experts",
        json={
            "name": "Giulia Rossi",
            "topics": ["runts"],
            "contact": "0734 000000",
            "telegram_chat_id": "123456",
        },
        headers=headers,
    )
    assert made.status_code == 201, made.text
    giulia = made.json()
    page = client.post(
        f"/admin/experts/{giulia['id']}",
        data={"csrf_token": csrf, "name": "Giulia Rossi", "topics": ["runts", "cucina"]},
    )
    assert page.status_code == 400 and "Tema sconosciuto «cucina»" in page.text
    rule = form(
        client,
        csrf,
        f"/admin/experts/{giulia['id']}/rules",
        desk_id=web.world.ascoli,
        weekday=3,
        start="09:00",
        end="11:00",
        slot_minutes=30,
    )
    assert rule.status_code == 303  # type: ignore[attr-defined]
    shown = client.get(f"/admin/experts/{giulia['id']}")
    assert "Giovedì 09:00–11:00, Sportello ascoli" in shown.text and "checked" in shown.text
    listed = {e["name"]: e for e in client.get("/api/admin/experts").json()}
    assert listed["Giulia Rossi"]["desk_ids"] == [web.world.ascoli]
    with web.session() as s:
        offers = scheduling.offer_slots(
            "runts", session=s, settings=web.settings, now=NOW, limit=20
        )
        assert "Giulia Rossi" in {o.expert_name for o in offers}


def test_deactivating_an_expert_with_a_booking_asks_first(web: Web) -> None:
    volunteer = web.client()
    booked = book_appointment(volunteer, open_chat(volunteer))
    client, csrf = staff(web)
    url = f"/admin/experts/{web.world.fiscal}/active"
    asked = client.post(url, data={"csrf_token": csrf, "active": "false"})
    assert asked.status_code == 409
    with web.session() as s:
        booking = s.get(Booking, booked["booking_id"])
        assert booking is not None and booking.status == BookingStatus.ACTIVE
        code = booking.ticket.code
        assert s.get(Expert, web.world.fiscal).active  # type: ignore[union-attr]
    assert code in asked.text and "Annulla gli appuntamenti avvisando le persone" in asked.text
    api = client.post(
        f"/api/admin/experts/{web.world.fiscal}/active",
        json={"active": False},
        headers={"X-CSRF-Token": csrf},
    )
    assert api.status_code == 409 and api.json()["affected"][0]["ticket_code"] == code
    done = client.post(url, data={"csrf_token": csrf, "active": "false", "bookings": "cancel"})
    assert done.status_code == 303 and done.headers["location"].endswith("ok=expert_off")
    with web.session() as s:
        booking = s.get(Booking, booked["booking_id"])
        assert booking is not None and booking.status == BookingStatus.CANCELLED
        offers = scheduling.offer_slots(
            "fiscale", session=s, settings=web.settings, now=NOW, limit=20
        )
        assert web.world.fiscal not in {o.expert_id for o in offers}
    again = client.post(url, data={"csrf_token": csrf, "active": "true"})
    assert again.status_code == 303 and again.headers["location"].endswith("ok=expert_on")


def test_demo_data_goes_with_one_button(web: Web) -> None:
    with web.services.sessions.begin() as s:
        seed.apply_seed(seed.load_seed(), session=s, settings=web.settings, now=NOW)
    client, csrf = staff(web)
    page = client.get("/admin/desks")
    assert "Dati dimostrativi presenti" in page.text and "esempio" in page.text
    removed = client.post("/admin/demo/remove", data={"csrf_token": csrf})
    assert removed.status_code == 303
    page = client.get(removed.headers["location"])
    assert (
        "Dati dimostrativi eliminati." in page.text
        and "Dati dimostrativi presenti" not in page.text
    )
    experts = client.get("/api/admin/experts").json()
    assert experts and not any(e["is_example"] or "(esempio)" in e["name"] for e in experts)
    again = client.post("/api/admin/demo/remove", headers={"X-CSRF-Token": csrf})
    assert again.json() == {
        "desks": 0,
        "experts": 0,
        "cancelled_bookings": 0,
        "deleted_bookings": 0,
        "released_tickets": 0,
    }


def test_accounts_disable_role_and_password_reset(web: Web) -> None:
    client, csrf = staff(web)
    luca = web.client()
    login(luca, web.people.expert)
    page = client.get("/admin/users")
    assert page.status_code == 200 and web.people.expert in page.text
    myself = client.post(
        f"/admin/users/{web.people.staff}/active", data={"csrf_token": csrf, "active": "false"}
    )
    assert myself.status_code == 403 and "Non puoi disattivare il tuo account" in myself.text
    off = form(client, csrf, f"/admin/users/{web.people.expert}/active", active="false")
    assert off.status_code == 303  # type: ignore[attr-defined]
    assert luca.get("/api/auth/me").status_code == 401  # the session ended at once
    form(client, csrf, f"/admin/users/{web.people.expert}/active", active="true")
    headers = {"X-CSRF-Token": csrf}
    differ = client.post(
        f"/api/admin/users/{web.people.expert}/password",
        json={"password": "una-frase-nuova-e-lunga", "repeat": "una-frase-diversa"},
        headers=headers,
    )
    assert (
        differ.status_code == 400 and differ.json()["detail"] == "Le due password non coincidono."
    )
    weak = client.post(
        f"/api/admin/users/{web.people.expert}/password",
        json={"password": "password12", "repeat": "password12"},
        headers=headers,
    )
    assert weak.status_code == 400
    reset = client.post(
        f"/admin/users/{web.people.expert}/password",
        data={
            "csrf_token": csrf,
            "password": "una-frase-nuova-e-lunga",
            "repeat": "una-frase-nuova-e-lunga",
        },
    )
    assert reset.status_code == 303
    login(web.client(), web.people.expert, "una-frase-nuova-e-lunga")
    role = client.post(
        f"/api/admin/users/{web.people.unlinked_expert}/role",
        json={"role": "expert", "expert_id": web.world.volunteers},
        headers=headers,
    )
    assert role.status_code == 200
    users = {u["username"]: u for u in client.get("/api/admin/users").json()}
    assert users[web.people.unlinked_expert]["expert_name"] == "Esperta volontari"
    unknown = client.post(
        f"/api/admin/users/{web.people.expert}/role", json={"role": "capo"}, headers=headers
    )
    assert unknown.status_code == 400 and "Ruolo sconosciuto" in unknown.json()["detail"]
    assert PASSWORD  # the other accounts keep theirs
