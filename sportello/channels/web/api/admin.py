"""The staff admin as JSON: documents, upload, re-index, try a question, gaps, FAQ, dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from pydantic import BaseModel, Field

from sportello.accounts.service import Principal
from sportello.channels.web import security
from sportello.channels.web.admin import check_topic, read_upload, work
from sportello.channels.web.operations import admin as ops
from sportello.channels.web.operations import facts as fact_ops
from sportello.errors import ErrorCode, SportelloError

router = APIRouter(
    prefix="/api/admin", tags=["admin"], dependencies=[Depends(security.staff_guard)]
)
Who = Depends(security.staff_guard)


class FaqIn(BaseModel):
    event_id: int | None = Field(None, description="The expert reply (ticket event) it comes from")
    title: str = Field(..., min_length=1, max_length=200)
    topic: str = Field(..., max_length=40)
    question: str = Field(..., min_length=1, max_length=2000)
    answer: str = Field(..., min_length=1, max_length=20000)
    sources: list[str] = Field(..., min_length=1, max_length=20)


@router.get("/documents")
def documents(request: Request, who: Principal = Who) -> list[ops.DocumentView]:
    """Every document: title, topic, chunks, review date (overdue flagged), status."""
    return ops.documents(security.services(request))


@router.get("/facts")
def facts(request: Request, who: Principal = Who) -> list[fact_ops.FactView]:
    """The fact registry: value, rule, source, checked on (overdue flagged)."""
    return fact_ops.facts(security.services(request))


@router.post("/documents")
def upload(
    request: Request, file: Annotated[UploadFile, File()], who: Principal = Who
) -> dict[str, Any]:
    """Upload md/pdf/docx/html/txt (size and type checked); it is indexed at once."""
    svc = security.services(request)
    data = read_upload(file, svc.settings.upload_max_bytes)
    return ops.upload(svc, work(request), file.filename or "documento", data)


@router.post("/documents/{doc_id:path}/retire")
def retire(request: Request, doc_id: str, who: Principal = Who) -> dict[str, str]:
    """Take a document out of the answers."""
    ops.retire(security.services(request), work(request), doc_id)
    return {"doc_id": doc_id, "status": "retired"}


@router.post("/documents/{doc_id:path}/restore")
def restore(request: Request, doc_id: str, who: Principal = Who) -> dict[str, str]:
    """Put a retired document back."""
    ops.restore(security.services(request), work(request), doc_id)
    return {"doc_id": doc_id, "status": "active"}


@router.post("/reindex", status_code=202)
def reindex(request: Request, who: Principal = Who) -> dict[str, Any]:
    """Start re-indexing (or return the run in progress); poll GET /reindex/{id}."""
    return work(request).start(security.services(request)).as_dict()


@router.get("/reindex/{job_id}")
def reindex_status(request: Request, job_id: str, who: Principal = Who) -> dict[str, Any]:
    """Progress of a re-index run."""
    job = work(request).get(job_id)
    if job is None:
        raise SportelloError(ErrorCode.NOT_FOUND, "Esecuzione non trovata.")
    return job.as_dict()


@router.get("/try")
def try_question(
    request: Request,
    q: str = Query(..., min_length=1, max_length=2000),
    topic: str = Query("", max_length=40),
    who: Principal = Who,
) -> ops.TryView:
    """Ranked chunks (dense, lexical, fused scores) and the reply the bot would give."""
    return ops.try_question(security.services(request), q, check_topic(topic))


@router.get("/gaps")
def gaps(
    request: Request, days: int = Query(30, ge=1, le=365), who: Principal = Who
) -> ops.GapsView:
    """Refused, escalated, unsure and thumbed-down questions, grouped into themes."""
    return ops.gaps(security.services(request), days)


@router.get("/gaps.csv")
def gaps_csv(
    request: Request, days: int = Query(30, ge=1, le=365), who: Principal = Who
) -> Response:
    """The same, one row per question, as CSV."""
    return Response(
        ops.gaps_csv(security.services(request), days),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="lacune.csv"'},
    )


@router.get("/replies")
def replies(request: Request, who: Principal = Who) -> list[ops.PromotableReply]:
    """Experts' written replies that could become FAQs."""
    return ops.promotable(security.services(request))


@router.post("/faq", status_code=201)
def faq(request: Request, body: FaqIn, who: Principal = Who) -> dict[str, Any]:
    """Save a reviewed answer as a knowledge-base FAQ and index it."""
    svc = security.services(request)
    if body.event_id is not None:
        ops.promotable_one(svc, body.event_id)
    return ops.promote(
        svc,
        work(request),
        title=body.title,
        topic=body.topic,
        question=body.question,
        answer=body.answer,
        sources=body.sources,
    )


@router.get("/dashboard")
def dashboard(
    request: Request, days: int = Query(30, ge=1, le=365), who: Principal = Who
) -> ops.Dashboard:
    """Questions per day, outcomes, satisfaction, tickets by status, first-reply time, bookings."""
    return ops.dashboard(security.services(request), days)
