"""The staff admin pages: dashboard, documents, re-index, "Prova una domanda", gaps, promote."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from sportello.accounts.service import Principal
from sportello.channels.web import charts, security
from sportello.channels.web.jobs import IndexWork
from sportello.channels.web.operations import admin as ops
from sportello.channels.web.operations import facts as fact_ops
from sportello.channels.web.templating import page
from sportello.clock import local_today
from sportello.desk import notifications
from sportello.desk.models import TicketStatus
from sportello.desk.tickets import STATUS_LABELS
from sportello.errors import ErrorCode, SportelloError
from sportello.knowledge.documents import Topic

router = APIRouter(
    prefix="/admin", include_in_schema=False, dependencies=[Depends(security.staff_guard)]
)
Who = Depends(security.staff_guard)
OUTCOME_LABELS = {
    "answer": "risposte",
    "clarify": "richieste di chiarimento",
    "escalate": "passate a un esperto",
    "refuse": "rifiutate",
}


def work(request: Request) -> IndexWork:
    found: IndexWork = request.app.state.index_work
    return found


def read_upload(upload: UploadFile, limit: int) -> bytes:
    """The file's bytes, refusing it as soon as it exceeds `limit` (no unbounded read)."""
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise SportelloError(
            ErrorCode.DOCUMENT_TOO_LARGE, f"Il file supera il limite di {limit // 1_000_000} MB."
        )
    return data


def check_topic(topic: str) -> str | None:
    if not topic:
        return None
    try:
        return Topic(topic).value
    except ValueError:
        raise SportelloError(ErrorCode.INVALID_INPUT, f"Tema sconosciuto «{topic}».") from None


@router.get("")
def dashboard(
    request: Request, who: Principal = Who, days: int = Query(30, ge=7, le=365)
) -> Response:
    """Questions, outcomes, satisfaction, tickets and bookings at a glance."""
    data = ops.dashboard(security.services(request), days)
    per_day = [(f"{d.day}/{d.month}", float(n)) for d, n in data.questions_per_day]
    outcomes = [(OUTCOME_LABELS[k], float(v)) for k, v in data.outcomes.items()]
    sat = data.satisfaction
    statuses = [
        (STATUS_LABELS[TicketStatus(k)], float(v)) for k, v in data.tickets_by_status.items()
    ]
    desks = [(k, float(v)) for k, v in data.bookings_per_desk.items()]
    total_questions = sum(n for _, n in data.questions_per_day)
    chart = {
        "per_day": charts.columns(
            per_day,
            title="Domande al giorno",
            description=f"{total_questions} domande negli ultimi {days} giorni.",
            label_every=max(len(per_day) // 8, 1),
        ),
        "outcomes": charts.share(
            outcomes,
            title="Esito delle risposte",
            description=", ".join(f"{label}: {int(v)}" for label, v in outcomes),
        ),
        "satisfaction": charts.share(
            [("utili", float(sat["up"])), ("non utili", float(sat["down"]))],
            title="Soddisfazione",
            description=f"{sat['up']} voti positivi e {sat['down']} negativi.",
        ),
        "statuses": charts.bars(
            statuses,
            title="Ticket per stato",
            description=", ".join(f"{label}: {int(v)}" for label, v in statuses),
            palette=True,
        ),
        "desks": charts.bars(
            desks,
            title="Appuntamenti per sportello",
            description=", ".join(f"{label}: {int(v)}" for label, v in desks) or "nessuno",
        ),
    }
    return page(
        request,
        "admin/dashboard.html",
        {
            "data": data,
            "chart": chart,
            "total_questions": total_questions,
            "outcome_labels": OUTCOME_LABELS,
        },
    )


@router.get("/documents")
def documents(request: Request, who: Principal = Who, job: str = "") -> Response:
    """Every document with topic, chunks, review date (overdue flagged) and status."""
    svc = security.services(request)
    rows = ops.documents(svc)
    running = work(request).get(job) if job else work(request).latest()
    return page(
        request,
        "admin/documents.html",
        {
            "rows": rows,
            "job": running,
            "overdue": sum(1 for r in rows if r.overdue and r.status == "active"),
            "max_mb": svc.settings.upload_max_bytes // 1_000_000,
            "months": svc.settings.kb_review_overdue_months,
        },
    )


@router.get("/documents/view")
def document_view(
    request: Request, who: Principal = Who, id: str = Query(..., max_length=300)
) -> Response:
    """One document: review date, sources and the registered facts it states."""
    svc = security.services(request)
    doc = fact_ops.document_facts(svc, id)
    return page(
        request,
        "admin/document.html",
        {"doc": doc, "months": svc.settings.kb_review_overdue_months},
    )


@router.get("/facts")
def facts(request: Request, who: Principal = Who) -> Response:
    """The fact registry with "checked on" dates; entries past the review period flagged."""
    svc = security.services(request)
    rows = fact_ops.facts(svc)
    return page(
        request,
        "admin/facts.html",
        {
            "rows": rows,
            "overdue": sum(1 for r in rows if r.overdue),
            "months": svc.settings.kb_review_overdue_months,
        },
    )


@router.post("/documents/upload")
def upload(request: Request, file: Annotated[UploadFile, File()], who: Principal = Who) -> Response:
    """Upload md/pdf/docx/html/txt: checked, saved under uploads/ and indexed."""
    svc = security.services(request)
    data = read_upload(file, svc.settings.upload_max_bytes)
    ops.upload(svc, work(request), file.filename or "documento", data)
    return RedirectResponse("/admin/documents?ok=uploaded", status_code=303)


@router.post("/documents/retire")
def retire(
    request: Request, doc_id: str = Form(..., max_length=300), who: Principal = Who
) -> Response:
    """Take a document out of the answers (it can be restored)."""
    ops.retire(security.services(request), work(request), doc_id)
    return RedirectResponse("/admin/documents?ok=retired", status_code=303)


@router.post("/documents/restore")
def restore(
    request: Request, doc_id: str = Form(..., max_length=300), who: Principal = Who
) -> Response:
    """Put a retired document back."""
    ops.restore(security.services(request), work(request), doc_id)
    return RedirectResponse("/admin/documents?ok=restored", status_code=303)


@router.post("/reindex")
def reindex(request: Request, who: Principal = Who) -> Response:
    """Start re-indexing the knowledge base; the documents page shows the progress."""
    job = work(request).start(security.services(request))
    return RedirectResponse(f"/admin/documents?job={job.id}#reindex", status_code=303)


@router.get("/try")
def try_question(
    request: Request,
    who: Principal = Who,
    q: str = Query("", max_length=2000),
    topic: str = Query("", max_length=40),
) -> Response:
    """Ranked chunks with dense, lexical and fused scores, and the reply the bot would give."""
    view = ops.try_question(security.services(request), q, check_topic(topic))
    return page(request, "admin/try.html", {"view": view, "topic": topic})


@router.get("/gaps")
def gaps(request: Request, who: Principal = Who, days: int = Query(30, ge=1, le=365)) -> Response:
    """Questions refused, escalated, unsure or thumbed down, grouped into themes."""
    svc = security.services(request)
    view = ops.gaps(svc, days)
    return page(
        request,
        "admin/gaps.html",
        {
            "view": view,
            "should_have_been": ops.SHOULD_HAVE_BEEN,
            "intent_examples": ops.intent_examples(svc),
        },
    )


@router.post("/gaps/examples")
def add_intent_example(
    request: Request,
    intent: str = Form(..., max_length=20),
    text: str = Form(..., max_length=2000),
    message_id: int | None = Form(None),
    days: int = Form(30, ge=1, le=365),
    who: Principal = Who,
) -> Response:
    """Teach the assistant what this message should have been (a new labelled example)."""
    ops.add_intent_example(
        security.services(request), who, intent=intent, text=text, message_id=message_id
    )
    return RedirectResponse(f"/admin/gaps?days={days}&ok=example#esempi", status_code=303)


@router.post("/gaps/examples/{example_id}/remove")
def remove_intent_example(request: Request, example_id: int, who: Principal = Who) -> Response:
    """Take back an example added by mistake."""
    ops.remove_intent_example(security.services(request), example_id)
    return RedirectResponse("/admin/gaps?ok=example_removed#esempi", status_code=303)


@router.get("/gaps.csv")
def gaps_csv(
    request: Request, who: Principal = Who, days: int = Query(30, ge=1, le=365)
) -> Response:
    """The gaps as a spreadsheet."""
    svc = security.services(request)
    text = ops.gaps_csv(svc, days)
    stamp = local_today(svc.clock, svc.settings.desk_timezone).strftime("%Y%m%d")
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="lacune-{stamp}.csv"'},
    )


@router.get("/promote")
def promote_list(request: Request, who: Principal = Who) -> Response:
    """Experts' written replies that could become FAQs."""
    rows = ops.promotable(security.services(request))
    return page(request, "admin/promote_list.html", {"rows": rows})


@router.get("/promote/{event_id}")
def promote_form(request: Request, event_id: int, who: Principal = Who) -> Response:
    """Review an expert's reply before it becomes a FAQ document."""
    row = ops.promotable_one(security.services(request), event_id)
    title = row.question.strip().splitlines()[0][:120]
    return page(request, "admin/promote_form.html", {"row": row, "title": title})


@router.post("/promote/{event_id}")
def promote(
    request: Request,
    event_id: int,
    title: str = Form(..., max_length=200),
    topic: str = Form(..., max_length=40),
    question: str = Form(..., max_length=2000),
    answer: str = Form(..., max_length=20000),
    sources: str = Form("", max_length=4000),
    who: Principal = Who,
) -> Response:
    """Write the reviewed FAQ into the knowledge base and index it."""
    svc = security.services(request)
    ops.promotable_one(svc, event_id)
    ops.promote(
        svc,
        work(request),
        title=title,
        topic=topic,
        question=question,
        answer=answer,
        sources=sources.split(),
    )
    return RedirectResponse("/admin/documents?ok=promoted", status_code=303)


def topic_label(value: str | None) -> str:
    return notifications.topic_label(value) if value else "—"
