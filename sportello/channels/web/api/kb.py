"""Health and public knowledge-base search."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Request

from sportello.channels.web.security import services
from sportello.knowledge.documents import Topic

router = APIRouter(tags=["knowledge"])


# Not in the OpenAPI schema: GET and HEAD would share one operation id (monitors use HEAD).
@router.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False)
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
