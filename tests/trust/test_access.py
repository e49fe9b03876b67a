"""4. Access control on the web: roles, someone else's objects, CSRF, lock-out, logout, expiry.

The role matrix, CSRF on console/admin, login lock-out and logout already live in
tests/channels/web/test_roles.py and the chat's own checks in test_chat.py: they are imported
here (so they run again under this category) and only what they miss is added.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select, update

from sportello.accounts import service as accounts
from sportello.accounts.models import WebSession
from sportello.desk import directory, scheduling
from sportello.desk.models import Booking, BookingStatus, Expert, HelpDesk, Ticket, TicketStatus
from sportello.errors import ErrorCode, SportelloError
from sportello.usecases import admin as admin_ops
from tests.channels.web.conftest import Web, login, open_chat
from tests.channels.web.test_chat import (  # noqa: F401 - re-run under this category
    book_appointment,
    test_chat_changes_need_the_cookie_and_the_token,
    test_one_browser_never_reads_another,
)
from tests.channels.web.test_console import make_ticket, post
from tests.channels.web.test_roles import (  # noqa: F401 - re-run under this category
    test_a_volunteer_chat_cookie_gets_nothing,
    test_anonymous_visitors_get_nothing,
    test_api_logout,
    test_changes_without_the_csrf_token_are_refused,
    test_experts_get_the_console_but_not_the_admin,
    test_lock_out_through_the_login_form,
    test_login_never_redirects_elsewhere,
    test_logout_needs_the_token_and_ends_the_session,
    test_staff_get_the_admin_and_the_console,
    test_the_login_form_needs_its_token,
    test_the_route_list_covers_console_and_admin,
)
from tests.trust.conftest import Cases

pytestmark = pytest.mark.trust("access")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def chat_changes() -> list[tuple[str, str]]:
    """Every state-changing route of the public chat (pages and API)."""
    from sportello.channels.web import chat
    from sportello.channels.web.api import chat as api_chat

    found = []
    for module in (chat, api_chat):
        for route in module.router.routes:
            if isinstance(route, APIRoute):
                for method in sorted(route.methods & UNSAFE):
                    found.append((method, re.sub(r"\{[a-z_]+\}", "1", route.path)))
    return found


def test_every_chat_change_needs_the_browsers_own_token(web: Web, cases: Cases) -> None:
    routes = chat_changes()
    assert len(routes) >= 14, routes
    mallory = web.client()
    mallory_csrf = open_chat(mallory)
    alice = web.client()
    alice_csrf = open_chat(alice)
    for method, path in routes:
        for client, token in (
            (web.client(), None),
            (alice, None),
            (alice, "x"),
            (alice, mallory_csrf),
        ):
            cases.add()
            headers = {"X-CSRF-Token": token} if token else {}
            response = client.request(method, path, headers=headers)
            assert response.status_code == 403, (method, path, token, response.status_code)
        cases.add()
        form = alice.request(method, path, data={"csrf_token": mallory_csrf})
        assert form.status_code == 403, (method, path)
    # With her own token she gets past the check (the route then answers for itself).
    ok = alice.post(
        "/api/chat/messages", json={"text": "ciao"}, headers={"X-CSRF-Token": alice_csrf}
    )
    assert ok.status_code == 200


def test_experts_cannot_act_on_a_colleagues_ticket_or_appointment(web: Web, cases: Cases) -> None:
    volunteer = web.client()
    done = book_appointment(volunteer, open_chat(volunteer))
    booking_id = done["booking_id"]
    with web.services.sessions.begin() as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        ticket_id = booking.ticket_id
        owner = booking.slot.expert_id
    assert owner == web.world.fiscal  # luca's appointment
    luca, marta, pino = web.client(), web.client(), web.client()
    luca_csrf = login(luca, web.people.expert)
    marta_csrf = login(marta, web.people.other_expert)
    pino_csrf = login(pino, web.people.unlinked_expert)
    post(luca, luca_csrf, f"/api/console/tickets/{ticket_id}/claim")

    forbidden = [
        ("POST", f"/api/console/tickets/{ticket_id}/claim", {}),
        ("POST", f"/api/console/tickets/{ticket_id}/reply", {"text": "Risposta di un'altra."}),
        ("POST", f"/api/console/tickets/{ticket_id}/close", {"outcome": "chiuso da altri"}),
        ("POST", f"/api/console/tickets/{ticket_id}/cancel", {"reason": "no"}),
        ("POST", f"/api/console/bookings/{booking_id}/cancel", {"reason": "no"}),
        ("GET", f"/api/console/bookings/{booking_id}.ics", None),
    ]
    for client, token in ((marta, marta_csrf), (pino, pino_csrf)):
        for method, path, body in forbidden:
            cases.add()
            response = client.request(method, path, json=body, headers={"X-CSRF-Token": token})
            assert response.status_code in (403, 409), (method, path, response.status_code)
            assert response.json()["error"] in ("forbidden", "conflict", "illegal_transition")
    with web.services.sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.assigned_expert_id == web.world.fiscal
        assert ticket.status == TicketStatus.SCHEDULED
        assert session.get(Booking, booking_id).status == BookingStatus.ACTIVE  # type: ignore[union-attr]

    # Luca's opening hours and days off are his: Marta cannot remove them.
    rules = luca.get("/api/console/availability").json()["rules"]
    absence = post(
        luca, luca_csrf, "/api/console/availability/absences", {"first_day": "2031-01-05"}
    )["absences"][0]
    for path in (
        f"/api/console/availability/rules/{rules[0]['id']}",
        f"/api/console/availability/absences/{absence['id']}",
    ):
        cases.add()
        response = marta.delete(path, headers={"X-CSRF-Token": marta_csrf})
        assert response.status_code in (403, 404), (path, response.status_code)
    after = luca.get("/api/console/availability").json()
    assert len(after["rules"]) == len(rules) and len(after["absences"]) == 1
    # Staff may act on anyone's ticket.
    staff = web.client()
    staff_csrf = login(staff, web.people.staff)
    assert staff.get(f"/api/console/bookings/{booking_id}.ics").status_code == 200
    post(staff, staff_csrf, f"/api/console/tickets/{ticket_id}/notes", {"text": "visto"})


def test_a_stolen_or_made_up_session_cookie_gets_nothing(web: Web, cases: Cases) -> None:
    client = web.client()
    login(client, web.people.staff)
    real = client.cookies["sportello_session"]
    for fake in ("", "x", real[:-1], real + "x", real.upper(), "' OR 1=1 --", "a" * 5000):
        cases.add()
        thief = web.client()
        thief.cookies.set("sportello_session", fake)
        assert thief.get("/api/admin/documents").status_code == 401, fake[:20]
        assert thief.get("/admin").status_code == 303


def test_an_expired_session_or_a_disabled_account_stops_working(web: Web) -> None:
    client = web.client()
    login(client, web.people.expert)
    assert client.get("/api/console/tickets").status_code == 200
    with web.services.sessions.begin() as session:
        session.execute(
            update(WebSession).values(expires_at=web.services.clock.now() - timedelta(seconds=1))
        )
    assert client.get("/api/console/tickets").status_code == 401
    login(client, web.people.expert)
    assert client.get("/api/console/tickets").status_code == 200
    with web.services.sessions.begin() as session:
        accounts.set_active(session=session, username=web.people.expert, active=False)
    assert client.get("/api/console/tickets").status_code == 401
    refused = web.client().post(
        "/api/auth/login", json={"username": web.people.expert, "password": "password-di-prova-1"}
    )
    assert refused.status_code == 401


def test_ids_of_someone_elses_things_lead_nowhere(web: Web, cases: Cases) -> None:
    """A volunteer's browser cannot reach tickets or other people's objects by guessing ids."""
    ticket_id = make_ticket(web, ref="web:someone-else")
    with web.services.sessions.begin() as session:
        offer = scheduling.offer_slots(
            "fiscale", session=session, settings=web.settings, now=web.services.clock.now()
        )[0]
        booking = scheduling.book(
            ticket_id,
            offer.slot_id,
            session=session,
            settings=web.settings,
            now=web.services.clock.now(),
        )
        booking_id = booking.id
    browser = web.client()
    csrf = open_chat(browser)
    for method, path in (
        ("GET", f"/api/chat/appointments/{booking_id}"),
        ("GET", f"/chat/appointments/{booking_id}"),
        ("GET", f"/chat/appointments/{booking_id}.ics"),
        ("POST", f"/api/chat/appointments/{booking_id}/cancel"),
        ("POST", f"/chat/appointments/{booking_id}/move"),
        ("GET", f"/api/console/tickets/{ticket_id}"),
        ("GET", f"/console/tickets/{ticket_id}"),
    ):
        cases.add()
        response = browser.request(method, path, headers={"X-CSRF-Token": csrf})
        assert response.status_code in (303, 401, 404), (method, path, response.status_code)
    with web.services.sessions.begin() as session:
        assert session.scalar(select(Booking.status).where(Booking.id == booking_id)) == "active"


def test_an_expert_cannot_manage_desks_experts_or_accounts(web: Web, cases: Cases) -> None:
    """Neither through the admin pages and API (role guard) nor by calling the use cases
    directly (the permission check lives in the use case)."""
    client = web.client()
    csrf = login(client, web.people.expert)
    headers = {"X-CSRF-Token": csrf}
    for method, path, body in (
        ("POST", "/api/admin/desks", {"name": "Sportello pirata", "address": "Via 1"}),
        ("PUT", f"/api/admin/desks/{web.world.ascoli}", {"name": "Preso", "address": "Via 1"}),
        ("POST", f"/api/admin/desks/{web.world.ascoli}/active", {"active": False}),
        ("POST", f"/api/admin/experts/{web.world.fiscal_online}/active", {"active": False}),
        ("POST", "/api/admin/demo/remove", None),
        ("POST", f"/api/admin/users/{web.people.staff}/active", {"active": False}),
        ("POST", f"/api/admin/users/{web.people.expert}/role", {"role": "staff"}),
    ):
        cases.add()
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.status_code)
    cases.add()
    page = client.post(
        f"/admin/desks/{web.world.ascoli}/active", data={"csrf_token": csrf, "active": "false"}
    )
    assert page.status_code == 403
    with web.services.sessions.begin() as session:
        outcome = accounts.login(
            session=session,
            settings=web.settings,
            username=web.people.expert,
            password="password-di-prova-1",
            now=web.services.clock.now(),
        )
    who = outcome.principal
    assert who is not None
    for call in (
        lambda: admin_ops.save_desk(
            web.services, who, admin_ops.DeskFields(name="X", address="Via 1")
        ),
        lambda: admin_ops.set_active(
            web.services, who, directory.Kind.DESK, web.world.ascoli, False
        ),
        lambda: admin_ops.set_user_role(web.services, who, web.people.expert, "staff", None),
    ):
        cases.add()
        with pytest.raises(SportelloError) as refused:
            call()  # type: ignore[no-untyped-call]
        assert refused.value.code == ErrorCode.FORBIDDEN
        assert refused.value.detail == "Solo lo staff può gestire sportelli, esperti e account."
    with web.services.sessions.begin() as session:
        ascoli = session.get(HelpDesk, web.world.ascoli)
        assert ascoli is not None and ascoli.active and ascoli.name == "Sportello ascoli"
        assert session.get(Expert, web.world.fiscal_online).active  # type: ignore[union-attr]
        user = accounts.get_user(session=session, username=web.people.expert)
        assert user.role == "expert"
