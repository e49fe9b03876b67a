"""Every console and admin page and API, for every kind of visitor: only the right role gets in.

The routes are read from the app itself, so a page added later is checked too.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from httpx import Response

from tests.channels.web.conftest import PASSWORD, Web, login, open_chat

ROLE_REFUSAL = "Questa pagina non è disponibile per il tuo ruolo."
PROTECTED = ("/console", "/admin", "/api/console", "/api/admin")


def all_routes() -> list[APIRoute]:
    from sportello.channels.web import admin, admin_directory, auth, chat, console
    from sportello.channels.web.api import admin as api_admin
    from sportello.channels.web.api import admin_directory as api_directory
    from sportello.channels.web.api import auth as api_auth
    from sportello.channels.web.api import chat as api_chat
    from sportello.channels.web.api import console as api_console
    from sportello.channels.web.api import kb as api_kb

    modules = (
        *(admin, admin_directory, auth, chat, console),
        *(api_admin, api_directory, api_auth, api_chat, api_console, api_kb),
    )
    return [r for m in modules for r in m.router.routes if isinstance(r, APIRoute)]


def protected_routes(web: Web) -> list[tuple[str, str]]:
    found = []
    for route in all_routes():
        if route.path.startswith(PROTECTED):
            path = re.sub(r"\{doc_id:path\}", "runts/x", route.path)
            path = re.sub(r"\{[a-z_]+\}", "999", path)
            for method in sorted(route.methods):
                found.append((method, path))
    return found


def call(client: TestClient, method: str, path: str, csrf: str | None) -> Response:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    return client.request(method, path, headers=headers)


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def assert_needs_login(response: Response, path: str) -> None:
    if is_api(path):
        assert response.status_code == 401, (path, response.status_code, response.text[:200])
        assert response.json()["error"] == "unauthorized"
    else:
        assert response.status_code == 303, (path, response.status_code)
        assert response.headers["location"].startswith("/login?next=")


def assert_role_refused(response: Response, path: str) -> None:
    assert response.status_code == 403, (path, response.status_code, response.text[:200])
    if is_api(path):
        assert response.json() == {"error": "forbidden", "detail": ROLE_REFUSAL}
    else:
        assert ROLE_REFUSAL in response.text


def assert_let_in(response: Response, path: str) -> None:
    """Past the role check: the page answers, or the domain says why (404 for id 999…)."""
    assert response.status_code != 401, (path, response.text[:200])
    assert ROLE_REFUSAL not in response.text, path
    assert response.status_code < 500, (path, response.status_code, response.text[:300])


def test_the_route_list_covers_console_and_admin(web: Web) -> None:
    routes = protected_routes(web)
    paths = {p for _, p in routes}
    assert {
        "/console",
        "/console/tickets/999",
        "/admin",
        "/admin/documents",
        "/admin/try",
        "/admin/gaps",
        "/api/console/tickets",
        "/api/admin/documents",
        "/api/admin/dashboard",
        "/admin/desks",
        "/admin/experts/999",
        "/admin/users",
        "/api/admin/desks/999/active",
        "/api/admin/experts",
    } <= paths
    assert len(routes) > 40
    # Every console and admin route lives in a router guarded as a whole.
    from sportello.channels.web import admin, admin_directory, console
    from sportello.channels.web.api import admin as api_admin
    from sportello.channels.web.api import admin_directory as api_directory
    from sportello.channels.web.api import console as api_console

    routers = (admin, admin_directory, console, api_admin, api_directory, api_console)
    guarded = {id(r) for m in routers for r in m.router.routes}
    assert all(id(r) in guarded for r in all_routes() if r.path.startswith(PROTECTED))


def test_anonymous_visitors_get_nothing(web: Web) -> None:
    client = web.client()
    for method, path in protected_routes(web):
        assert_needs_login(call(client, method, path, None), path)


def test_a_volunteer_chat_cookie_gets_nothing(web: Web) -> None:
    client = web.client()
    chat_csrf = open_chat(client)
    for method, path in protected_routes(web):
        assert_needs_login(call(client, method, path, chat_csrf), path)


def test_experts_get_the_console_but_not_the_admin(web: Web) -> None:
    client = web.client()
    csrf = login(client, web.people.expert)
    for method, path in protected_routes(web):
        response = call(client, method, path, csrf)
        if path.startswith(("/admin", "/api/admin")):
            assert_role_refused(response, path)
        else:
            assert_let_in(response, path)


def test_staff_get_the_admin_and_the_console(web: Web) -> None:
    client = web.client()
    csrf = login(client, web.people.staff)
    for method, path in protected_routes(web):
        assert_let_in(call(client, method, path, csrf), path)


def test_changes_without_the_csrf_token_are_refused(web: Web) -> None:
    client = web.client()
    csrf = login(client, web.people.staff)
    unsafe = [(m, p) for m, p in protected_routes(web) if m in ("POST", "DELETE")]
    assert unsafe
    # A token one character off; never the real one (a token may itself start with "x").
    forged = ("y" if csrf.startswith("x") else "x") + csrf[1:]
    for method, path in unsafe:
        for token in (None, forged):
            response = call(client, method, path, token)
            assert response.status_code == 403, (method, path, token, response.status_code)
            assert "Modulo scaduto" in response.text


def test_logout_needs_the_token_and_ends_the_session(web: Web) -> None:
    client = web.client()
    csrf = login(client, web.people.expert)
    stolen = client.cookies.get("sportello_session")
    assert stolen
    assert client.post("/logout").status_code == 403  # no token: still logged in
    assert client.get("/api/auth/me").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert client.get("/api/console/tickets").status_code == 401
    # The old cookie is worthless even if someone kept it.
    thief = web.client()
    thief.cookies.set("sportello_session", stolen)
    assert thief.get("/api/console/tickets").status_code == 401
    assert thief.get("/console").status_code == 303


def test_api_logout(web: Web) -> None:
    client = web.client()
    me = client.post("/api/auth/login", json={"username": web.people.staff, "password": PASSWORD})
    assert me.status_code == 200, me.text
    csrf = me.json()["csrf_token"]
    assert client.post("/api/auth/logout").status_code == 403
    assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/api/auth/me").status_code == 401


def test_lock_out_through_the_login_form(web: Web) -> None:
    client = web.client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    form = {"username": web.people.expert, "csrf_token": token.group(1)}
    limit = web.settings.web_login_max_failures
    for _ in range(limit - 1):
        response = client.post("/login", data={**form, "password": "sbagliata"})
        assert response.status_code == 401
        assert "Nome utente o password non validi" in response.text
    response = client.post("/login", data={**form, "password": "sbagliata"})
    assert response.status_code == 429 and "bloccato" in response.text
    right = client.post("/login", data={**form, "password": PASSWORD})
    assert right.status_code == 429
    assert "sportello_session" not in client.cookies
    api = web.client().post(
        "/api/auth/login", json={"username": web.people.expert, "password": PASSWORD}
    )
    assert api.status_code == 429 and api.json()["error"] == "too_many_attempts"


def test_the_login_form_needs_its_token(web: Web) -> None:
    client = web.client()
    client.get("/login")
    response = client.post(
        "/login", data={"username": web.people.staff, "password": PASSWORD, "csrf_token": "x"}
    )
    assert response.status_code == 403
    assert "sportello_session" not in client.cookies


def test_login_never_redirects_elsewhere(web: Web) -> None:
    client = web.client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    response = client.post(
        "/login",
        data={
            "username": web.people.staff,
            "password": PASSWORD,
            "csrf_token": token.group(1),
            "next": "//evil.example.org/",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin"


@pytest.mark.parametrize(
    "base_url,secure", [("http://testserver", False), ("https://testserver", True)]
)
def test_cookie_flags(web: Web, base_url: str, secure: bool) -> None:
    client = web.client(base_url=base_url)
    chat = client.get("/")
    me = client.post("/api/auth/login", json={"username": web.people.staff, "password": PASSWORD})
    for header in (chat.headers["set-cookie"], me.headers["set-cookie"]):
        lowered = header.lower()
        assert "httponly" in lowered and "samesite=lax" in lowered
        assert ("secure" in lowered.split(";")[-1] or "; secure" in lowered) == secure, header


def test_openapi_describes_the_json_api(web: Web) -> None:
    spec = web.client().get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in (
        "/api/chat/messages",
        "/api/console/tickets",
        "/api/console/tickets/{ticket_id}/reply",
        "/api/admin/documents",
        "/api/admin/try",
        "/api/admin/gaps",
        "/api/admin/faq",
        "/api/admin/dashboard",
        "/api/auth/login",
    ):
        assert path in paths, path
    assert not any(p.startswith(("/console", "/admin")) for p in paths)  # pages are not API


def test_errors_are_json_under_api_and_pages_elsewhere(web: Web) -> None:
    client = web.client()
    api = client.get("/api/nowhere")
    assert api.status_code == 404 and api.json() == {
        "error": "not_found",
        "detail": "Pagina non trovata.",
    }
    page = client.get("/nowhere")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Pagina non trovata" in page.text
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
