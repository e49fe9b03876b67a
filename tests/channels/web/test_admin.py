"""The staff admin: documents (overdue flagged), upload checks, retire/restore, re-index with
progress, "Prova una domanda", gaps grouped into themes with CSV, promoting a reply, dashboard."""

from __future__ import annotations

import csv
import io
import shutil
import time
from pathlib import Path

from fastapi.testclient import TestClient

from sportello.answering import queries as answering_queries
from sportello.desk import notifications, tickets
from sportello.desk import queries as desk_queries
from sportello.knowledge.admin import safe_stem, uploads_dir
from sportello.knowledge.embeddings import Embedder
from tests.channels.web.conftest import Web, build_web, login, open_chat
from tests.conftest import KB_DIR
from tests.desk.factory import booked_and_answered, open_ticket

FAQ_MD = """---
title: Quota associativa e ricevute
topic: fiscale
sources:
  - https://www.agenziaentrate.gov.it/
reviewed: 2020-01-15
---
# Quota associativa e ricevute

## Serve una ricevuta per la quota associativa dei soci?
La quota associativa versata dai soci di una APS non è un corrispettivo: basta una ricevuta
semplice intestata al socio, senza IVA, conservata con il libro soci.
"""


def upload(client: TestClient, csrf: str, name: str, data: bytes) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(
        "/api/admin/documents", files={"file": (name, data)}, headers={"X-CSRF-Token": csrf}
    )
    return response.status_code, response.json()


def staff(web: Web) -> tuple[TestClient, str]:
    client = web.client()
    return client, login(client, web.people.staff)


def test_documents_upload_and_overdue_flag(web: Web) -> None:
    client, csrf = staff(web)
    rows = client.get("/api/admin/documents").json()
    assert len(rows) == 3 and all(r["status"] == "active" and r["chunks"] > 0 for r in rows)
    status, body = upload(client, csrf, "../../../etc/Quota associativa è.md", FAQ_MD.encode())
    assert status == 200, body
    assert body["file"] == "quota-associativa-e.md"
    stored = uploads_dir(web.settings) / "quota-associativa-e.md"
    assert stored.exists() and stored.parent == uploads_dir(web.settings)
    docs = {r["id"]: r for r in client.get("/api/admin/documents").json()}
    faq = docs["quota-associativa-e"]
    assert faq["overdue"] and faq["uploaded"] and faq["topic"] == "fiscale"
    page = client.get("/admin/documents")
    assert "da rivedere" in page.text and "Quota associativa e ricevute" in page.text
    hits = client.get("/api/admin/try", params={"q": "ricevuta per la quota associativa dei soci"})
    assert hits.json()["hits"][0]["doc_id"] == "quota-associativa-e"


def test_uploads_are_checked(web: Web) -> None:
    client, csrf = staff(web)
    assert upload(client, csrf, "virus.exe", b"MZ\x90\x00")[0] == 415
    assert upload(client, csrf, "finto.pdf", b"# non sono un pdf")[0] == 415
    assert upload(client, csrf, "finto.docx", b"testo")[0] == 415
    assert upload(client, csrf, "vuoto.md", b"")[0] == 400
    assert upload(client, csrf, "binario.txt", b"\x00\x01\x02")[0] == 422
    web.services.settings.upload_max_bytes = 100
    status, body = upload(client, csrf, "lungo.md", b"# Titolo\n\n" + b"parola " * 100)
    assert status == 413 and body["error"] == "document_too_large"
    assert (
        not any(uploads_dir(web.settings).glob("*")) if uploads_dir(web.settings).exists() else True
    )
    form = client.post(
        "/admin/documents/upload", files={"file": ("x.exe", b"MZ")}, data={"csrf_token": csrf}
    )
    assert form.status_code == 415 and "Formato non ammesso" in form.text


def test_safe_names() -> None:
    assert safe_stem("../../etc/passwd") == "passwd"
    assert safe_stem("C:\\Users\\x\\Guida 5×1000 (bozza).PDF") == "guida-5-1000-bozza"
    assert safe_stem("....md") == "documento"


def test_retire_and_restore(web: Web) -> None:
    client, csrf = staff(web)
    doc = "runts/iscrizione-al-runts-procedura-e-documenti"
    question = {"q": "Quali documenti servono per iscriversi al RUNTS?"}
    assert client.get("/api/admin/try", params=question).json()["hits"][0]["doc_id"] == doc
    assert (
        client.post(
            f"/api/admin/documents/{doc}/retire", headers={"X-CSRF-Token": csrf}
        ).status_code
        == 200
    )
    hits = client.get("/api/admin/try", params=question).json()["hits"]
    assert all(h["doc_id"] != doc for h in hits)
    form = client.post("/admin/documents/restore", data={"doc_id": doc, "csrf_token": csrf})
    assert form.status_code == 303, form.text
    assert client.get("/api/admin/try", params=question).json()["hits"][0]["doc_id"] == doc


def test_reindex_with_progress(web: Web) -> None:
    client, csrf = staff(web)
    (web.settings.kb_dir / "runts" / "nuova-scheda.md").write_text(
        FAQ_MD.replace("Quota associativa e ricevute", "Nuova scheda"), encoding="utf-8"
    )
    started = client.post("/api/admin/reindex", headers={"X-CSRF-Token": csrf})
    assert started.status_code == 202
    job = started.json()
    deadline = time.monotonic() + 60
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.get(f"/api/admin/reindex/{job['id']}").json()
    assert job["status"] == "done", job
    assert job["percent"] == 100 and job["total"] == job["done"] == 4
    assert job["report"]["added"] == 1 and job["report"]["unchanged"] == 3
    page = client.get(f"/admin/documents?job={job['id']}")
    assert "completata" in page.text and "Nuova scheda" in page.text


def test_try_a_question_shows_scores_and_the_reply(web: Web) -> None:
    client, _ = staff(web)
    view = client.get(
        "/api/admin/try", params={"q": "Come si iscrive un ente al 5 per mille?"}
    ).json()
    first = view["hits"][0]
    assert first["rank"] == 1 and first["fused_score"] > 0
    assert first["dense_score"] is not None and first["lexical_score"] is not None
    assert view["reply"]["action"] in ("answer", "clarify", "escalate")
    page = client.get("/admin/try", params={"q": "Come si iscrive un ente al 5 per mille?"})
    assert "Fuso (denso + BM25)" in page.text and "La risposta che darebbe il bot" in page.text
    assert client.get("/admin/try", params={"q": "x", "topic": "boh"}).status_code == 400
    # An English question is ranked as the assistant ranks it: its words meet the English
    # twins of the headings ("sign up" is in no Italian text).
    english = client.get("/api/admin/try", params={"q": "How do we sign up?"}).json()
    assert any(hit["lexical_score"] is not None for hit in english["hits"]), english["hits"]


def test_gaps_grouped_into_themes_and_csv(web: Web) -> None:
    volunteer = web.client()
    chat = open_chat(volunteer)

    def ask(text: str) -> dict:  # type: ignore[type-arg]
        response = volunteer.post(
            "/api/chat/messages", json={"text": text}, headers={"X-CSRF-Token": chat}
        )
        return response.json()["message"]  # type: ignore[no-any-return]

    # A subject the knowledge base does not cover (registering a trademark), asked twice.
    marchio = [
        ask("Come si registra un marchio per la nostra associazione?"),
        ask("Come registriamo il marchio con il logo della nostra associazione?"),
    ]
    good = ask("Quali documenti servono per iscriversi al RUNTS?")
    volunteer.post(
        f"/api/chat/messages/{good['id']}/feedback",
        json={"value": -1},
        headers={"X-CSRF-Token": chat},
    )
    ask('=HYPERLINK("http://x") chi vince il campionato di calcio?')

    client, _ = staff(web)
    view = client.get("/api/admin/gaps", params={"days": 7}).json()
    assert view["total"] >= 2
    themes = view["themes"]
    questions = {e["question"]: t["label"] for t in themes for e in t["examples"]}
    assert any("thumbs_down" in t["reasons"] for t in themes)
    # Not in the knowledge base: both escalated, and the two paraphrases make one theme.
    assert all(m["action"] in ("escalate", "refuse") for m in marchio)
    marchio_themes = [t for t in themes if "marchio" in t["label"]]
    assert len(marchio_themes) == 1 and marchio_themes[0]["count"] == 2
    assert len({questions[q] for q in questions if "marchio" in q}) == 1
    assert any("campionato" in t["label"] for t in themes if t not in marchio_themes)
    page = client.get("/admin/gaps")
    assert page.status_code == 200 and "Esporta in CSV" in page.text
    exported = client.get("/api/admin/gaps.csv", params={"days": 7})
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.startswith("\ufefftema,")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert len(rows) - 1 == view["total"]
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_promote_an_expert_reply(web: Web) -> None:
    with web.services.sessions.begin() as session:
        ticket = open_ticket(session, web.settings, now=web.services.clock.now())
        tickets.reply(
            ticket.id,
            web.world.fiscal,
            "Sì: l'APS può ricevere il 5 per mille dopo l'iscrizione al RUNTS.",
            session=session,
            now=web.services.clock.now(),
        )
    client, csrf = staff(web)
    replies = client.get("/api/admin/replies").json()
    assert len(replies) == 1 and "5 per mille" in replies[0]["answer"]
    event = replies[0]["event_id"]
    form = client.get(f"/admin/promote/{event}")
    assert form.status_code == 200 and "Fonti pubbliche" in form.text
    body = {
        "event_id": event,
        "title": "APS e 5 per mille",
        "topic": "fiscale",
        "question": "Un'APS appena nata può avere il 5 per mille?",
        "answer": replies[0]["answer"],
        "sources": [],
    }
    refused = client.post("/api/admin/faq", json=body, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 422
    body["sources"] = ["non un link"]
    assert (
        client.post("/api/admin/faq", json=body, headers={"X-CSRF-Token": csrf}).status_code == 400
    )
    body["sources"] = ["https://www.lavoro.gov.it/"]
    made = client.post("/api/admin/faq", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text
    assert made.json()["doc_id"] == "faq-aps-e-5-per-mille"
    docs = {r["id"]: r for r in client.get("/api/admin/documents").json()}
    assert docs["faq-aps-e-5-per-mille"]["overdue"] is False
    page = client.post(
        f"/admin/promote/{event}",
        data={
            "title": "APS e 5 per mille (2)",
            "topic": "fiscale",
            "question": body["question"],
            "answer": body["answer"],
            "sources": "https://www.lavoro.gov.it/",
            "csrf_token": csrf,
        },
    )
    assert page.status_code == 303 and page.headers["location"].endswith("ok=promoted")


def test_dashboard(web: Web) -> None:
    volunteer = web.client()
    chat = open_chat(volunteer)
    message = volunteer.post(
        "/api/chat/messages",
        json={"text": "Quali documenti servono per iscriversi al RUNTS?"},
        headers={"X-CSRF-Token": chat},
    ).json()["message"]
    volunteer.post(
        f"/api/chat/messages/{message['id']}/feedback",
        json={"value": 1},
        headers={"X-CSRF-Token": chat},
    )
    with web.services.sessions.begin() as session:
        offer, _ = booked_and_answered(
            session, web.settings, web.world.fiscal, now=web.services.clock.now()
        )
    client, _ = staff(web)
    data = client.get("/api/admin/dashboard", params={"days": 7}).json()
    assert sum(n for _, n in data["questions_per_day"]) == 1
    assert len(data["questions_per_day"]) == 7
    assert data["outcomes"]["answer"] == 1
    assert data["satisfaction"] == {"up": 1, "down": 0}
    assert (
        data["tickets_by_status"]["scheduled"] == 1 and data["tickets_by_status"]["answered"] == 1
    )
    assert data["median_first_reply_hours"] is not None and data["replied_tickets"] == 1
    assert data["bookings_per_desk"][offer.desk_name] == 1
    page = client.get("/admin")
    assert page.status_code == 200
    assert page.text.count("<svg") == 5 and 'role="img"' in page.text
    assert "Domande al giorno" in page.text


OLD_FACT_YAML = """facts:
  - id: prova-dato-vecchio
    value: "250 euro"
    fact: "Dato di prova verificato molto tempo fa"
    rule: "art. 2 DL 16/2012"
    source: https://example.org/fonte
    in_force_from: null
    checked_on: 2019-05-01
    match: ['versare']
    values_pattern: '@euro'
"""


def test_fact_registry_page_flags_old_checks_and_document_page_lists_its_facts(web: Web) -> None:
    kb = web.settings.kb_dir
    shutil.copy(KB_DIR / "facts.yaml", kb / "facts.yaml")
    (kb / "facts.prova.yaml").write_text(OLD_FACT_YAML, encoding="utf-8")
    client, _ = staff(web)

    page = client.get("/admin/facts")
    assert page.status_code == 200
    assert "Registro dei dati" in page.text and "Verificato il" in page.text
    assert "Dato di prova verificato molto tempo fa" in page.text
    assert "01/05/2019" in page.text and "da verificare" in page.text
    rows = {r["id"]: r for r in client.get("/api/admin/facts").json()}
    assert rows["prova-dato-vecchio"]["overdue"] is True
    assert rows["prova-dato-vecchio"]["registry"] == "facts.prova.yaml"
    assert rows["bilancio-deposito-termine"]["overdue"] is False  # checked 2026-12-02
    assert len(rows) > 70

    doc = client.get(
        "/admin/documents/view",
        params={"id": "fiscale/cinque-per-mille-chi-puo-accedere-e-iscrizione"},
    )
    assert doc.status_code == 200
    assert "Dati registrati usati dal documento" in doc.text
    assert "10 aprile" in doc.text and "250 euro" in doc.text  # accreditamento, tardiva
    assert "Dato di prova verificato molto tempo fa" in doc.text  # also states a late fee
    assert client.get("/admin/documents/view", params={"id": "non-esiste"}).status_code == 404
    assert 'href="/admin/documents/view?id=' in client.get("/admin/documents").text


def test_fact_registry_is_staff_only(web: Web) -> None:
    client = web.client()
    login(client, web.people.expert)
    assert client.get("/admin/facts", follow_redirects=False).status_code in (302, 303, 403)
    assert client.get("/api/admin/facts").status_code in (401, 403)


def test_gaps_teach_the_intents(indexed_template: Path, tmp_path: Path, embedder: Embedder) -> None:
    """'Avrebbe dovuto essere…' stores the message as a labelled example the assistant uses."""
    web = build_web(indexed_template, tmp_path, embedder, intent_reload_seconds=0)
    volunteer = web.client()
    chat = open_chat(volunteer)
    question = "la vicina di casa ci presta il cortile per la merenda dei bimbi, va bene?"
    volunteer.post("/api/chat/messages", json={"text": question}, headers={"X-CSRF-Token": chat})
    client, csrf = staff(web)
    page = client.get("/admin/gaps", params={"days": 7})
    assert "Avrebbe dovuto essere" in page.text and "Nessun esempio aggiunto" in page.text
    reply_id = client.get("/api/admin/gaps", params={"days": 7}).json()["themes"][0]["examples"][0][
        "message_id"
    ]
    taught = "chiedo per la mia vicina: può prestarci il cortile per una merenda coi bambini?"
    missing_token = client.post(
        "/admin/gaps/examples", data={"intent": "off_topic", "text": taught}
    )
    assert missing_token.status_code == 403
    wrong = client.post(
        "/admin/gaps/examples", data={"intent": "nonsense", "text": taught, "csrf_token": csrf}
    )
    assert wrong.status_code == 400
    saved = client.post(
        "/admin/gaps/examples",
        data={
            "intent": "off_topic",
            "text": taught,
            "message_id": str(reply_id),
            "days": "7",
            "csrf_token": csrf,
        },
    )
    assert saved.status_code == 303 and "ok=example" in saved.headers["location"]
    with web.services.sessions.begin() as session:
        rows = answering_queries.list_examples(session=session)
        assert [(r.intent, r.text, r.source_message_id) for r in rows] == [
            ("off_topic", taught, reply_id)
        ]
        example_id = rows[0].id
    listed = client.get("/admin/gaps", params={"days": 7})
    assert "Esempio salvato" not in listed.text  # no ?ok: the notice only follows the redirect
    assert "fuori dai temi dello sportello" in listed.text and "merenda coi bambini" in listed.text
    # The assistant picks it up at its next check: the nearest example is the staff's.
    found = web.services.assistant.intents.classify(taught)
    assert found.nearest[0] == f"db-{example_id}"
    removed = client.post(f"/admin/gaps/examples/{example_id}/remove", data={"csrf_token": csrf})
    assert removed.status_code == 303
    assert not web.services.assistant.intents.classify(taught).nearest[0].startswith("db-")
    web.services.engine.dispose()


def test_staff_set_an_experts_email_and_preferences(web: Web) -> None:
    client, csrf = staff(web)
    listing = client.get("/admin/expert-mail")
    assert listing.status_code == 200 and "Esperta fisco" in listing.text
    assert "non è attivo su questo sportello" in listing.text  # no SMTP host in this instance

    def save(**form: str) -> object:
        return client.post("/admin/expert-mail/fisco", data={"csrf_token": csrf, **form})

    def stored() -> dict[str, object]:
        with web.services.sessions.begin() as session:
            expert = desk_queries.expert_by_slug(session, "fisco")
            assert expert is not None
            return notifications.describe_mail(expert)

    done = save(
        email=" Luca@Studio.EXAMPLE.it ",
        new_tickets="digest",
        digest_hour="7",
        messages="true",
        agenda="true",
        agenda_hour="19",
    )
    assert done.status_code == 303 and "ok=expert_mail" in done.headers["location"]  # type: ignore[attr-defined]
    saved = stored()
    assert saved == {
        "expert": "fisco",
        "email": "Luca@studio.example.it",
        "new_tickets": "digest",
        "digest_hour": 7,
        "bookings": False,  # an unticked box
        "messages": True,
        "agenda": True,
        "agenda_hour": 19,
    }
    # The CLI's checks: a typo or an hour out of range is refused and nothing changes.
    for form, reason in (
        ({"email": "luca@studio"}, "non è un indirizzo e-mail valido"),
        ({"email": "luca@studio.it", "digest_hour": "24"}, "da 0 a 23"),
        ({"email": "luca@studio.it", "new_tickets": "weekly"}, "scegli tra"),
    ):
        refused = save(**form)
        assert refused.status_code == 400 and reason in refused.text, form  # type: ignore[attr-defined]
        assert stored() == saved
    # A blank address stops all e-mail.
    save(email="", new_tickets="immediate", bookings="true")
    assert stored()["email"] is None and stored()["bookings"] is True
    # Experts do not reach it.
    expert = web.client()
    expert_csrf = login(expert, web.people.expert)
    assert expert.get("/admin/expert-mail").status_code == 403
    forbidden = expert.post(
        "/admin/expert-mail/fisco", data={"csrf_token": expert_csrf, "email": "x@example.org"}
    )
    assert forbidden.status_code == 403
