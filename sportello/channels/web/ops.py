"""Operations endpoints and plumbing: /readyz, /metrics, request ids, timing, warm-up.

`install(app)` adds the router, the request middleware and a lifespan step that runs once the
services are built: it warms the model, the indexes and the composer's sections
(`Services.warm_up`: the first volunteers must not pay for loading them) and attaches the
metrics hooks. /healthz (alive) lives in api/kb.py.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sportello import logging_setup, metrics
from sportello.db.engine import ping

if TYPE_CHECKING:
    from sportello.services import Services

logger = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 5.0
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Probes and scrapes run every few seconds: logged at DEBUG only.
_QUIET_ROUTES = {"/healthz", "/readyz", "/metrics", "/static"}


def _services(app: Any) -> Services:
    svc: Services = app.state.services
    return svc


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """After the app's own lifespan built the services: hooks, then warm-up."""
    svc = _services(app)
    metrics.watch_sessions(svc.sessions)
    svc.knowledge.retriever.observer = metrics.observe_retrieval
    started = time.perf_counter()
    sections = await asyncio.to_thread(svc.warm_up)
    logger.info(
        "warmed up in %.0f ms (%d sections)", (time.perf_counter() - started) * 1e3, sections
    )
    yield


router = APIRouter(tags=["health"], lifespan=_lifespan)


# -- readiness ------------------------------------------------------------------------------------
def _check_database(svc: Services) -> str:
    ping(svc.engine)
    return "ok"


def _check_index(svc: Services) -> str:
    svc.knowledge.keywords.refresh_if_changed()  # an ingest elsewhere is picked up here too
    vectors = svc.knowledge.vectors.count()  # a Chroma round trip: the server answers
    keywords = len(svc.knowledge.keywords)
    if not vectors or not keywords:
        raise RuntimeError(f"index empty (vectors {vectors}, keywords {keywords})")
    return f"ok ({keywords} chunks, generation {svc.knowledge.keywords.generation[:8]})"


def _check_telegram(app: Any, svc: Services) -> str:
    if not svc.settings.telegram_token.get_secret_value():
        return "disabled"
    bot = getattr(app.state, "telegram", None)
    if bot is None or not bot.running:
        raise RuntimeError("bot not running")
    if bot.updater is not None:  # polling
        if not bot.updater.running:
            raise RuntimeError("polling stopped")
        return "ok (polling)"
    return "ok (webhook)"


async def _run_check(name: str, check: Any, *args: Any) -> tuple[bool, str]:
    try:
        detail = await asyncio.wait_for(run_in_threadpool(check, *args), CHECK_TIMEOUT_S)
        return True, str(detail)
    except TimeoutError:
        logger.warning("readiness check %s timed out", name)
        return False, f"timeout after {CHECK_TIMEOUT_S:.0f} s"
    except Exception as exc:  # a failed check is the answer, not an error of /readyz
        logger.warning("readiness check %s failed: %s", name, exc)
        return False, f"{type(exc).__name__}: {exc}"[:300]


@router.api_route("/readyz", methods=["GET", "HEAD"], include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    """Ready to serve: database answers, index non-empty (Chroma reachable), bot running if set."""
    svc = _services(request.app)
    results = {
        "database": await _run_check("database", _check_database, svc),
        "index": await _run_check("index", _check_index, svc),
        "telegram": await _run_check("telegram", _check_telegram, request.app, svc),
    }
    ready = all(ok for ok, _ in results.values())
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {name: detail for name, (_, detail) in results.items()},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus exposition (all workers when PROMETHEUS_MULTIPROC_DIR is set)."""
    data = await run_in_threadpool(metrics.render, _services(request.app).sessions)
    return Response(data, media_type=metrics.CONTENT_TYPE)


# -- every request ----------------------------------------------------------------------------------
class RequestObserver:
    """Pure ASGI middleware: a request id (kept from X-Request-ID or new), latency by route
    template, one INFO line per request without query string, client address or body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.lower().encode(), b"")
        rid = given.decode("latin-1") if _VALID_ID.match(given.decode("latin-1")) else ""
        rid = rid or uuid.uuid4().hex
        token = logging_setup.request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            method = str(scope.get("method", ""))
            metrics.observe_request(method, route, status, seconds)
            logger.log(
                logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
                "%s %s %d in %.1f ms",
                method,
                route,
                status,
                seconds * 1e3,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1e3, 2),
                },
            )
            logging_setup.request_id.reset(token)


def _route_template(scope: Scope) -> str:
    """The matched route's path template (/api/console/tickets/{ticket_id}); bounded labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def install(app: FastAPI) -> None:
    """Add /readyz, /metrics, the request middleware and the warm-up to `app`."""
    app.include_router(router)
    app.add_middleware(RequestObserver)
