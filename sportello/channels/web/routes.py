"""Web routes available so far: health and knowledge-base search."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from sportello.app import Services
from sportello.knowledge.documents import Topic

router = APIRouter()


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/api/kb/search")
async def kb_search(
    request: Request,
    q: str = Query(..., min_length=1, max_length=2000, description="La domanda"),
    k: int = Query(5, ge=1, le=50),
    topic: Topic | None = None,
) -> dict[str, object]:
    """Ranked chunks for a question, with dense, lexical and fused scores."""
    retriever = services(request).knowledge.retriever
    hits = await asyncio.to_thread(retriever.search, q, k, topic)
    return {"query": q, "results": [h.as_dict() for h in hits]}


@router.get("/", response_class=HTMLResponse)
def home() -> str:
    """A placeholder home until the chat page lands."""
    return (
        "<!doctype html><html lang='it'><head><meta charset='utf-8'><title>Sportello</title>"
        "</head><body><h1>Sportello</h1><p>Lo sportello tecnico per gli enti del Terzo "
        "settore. Cerca nella base di conoscenza: <code>/api/kb/search?q=...</code></p>"
        "</body></html>"
    )
