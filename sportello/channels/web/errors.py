"""Errors at the web edge: JSON `{"error": code, "detail": …}` under /api/, pages elsewhere."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from sportello.desk.errors import SlotTaken
from sportello.errors import ErrorCode, SportelloError
from sportello.usecases.limits import RateLimited

logger = logging.getLogger(__name__)

HTTP_CODES = {
    400: ("invalid_input", "Richiesta non valida."),
    401: ("unauthorized", "Accedi per continuare."),
    403: ("forbidden", "Non hai accesso a questa pagina."),
    404: ("not_found", "Pagina non trovata."),
    405: ("method_not_allowed", "Operazione non consentita."),
    413: ("document_too_large", "Il contenuto inviato è troppo grande."),
}
TITLES = {
    400: "Richiesta non valida",
    401: "Accesso richiesto",
    403: "Accesso negato",
    404: "Pagina non trovata",
    409: "Operazione non possibile",
    413: "File troppo grande",
    415: "Formato non ammesso",
    422: "Contenuto non valido",
    429: "Troppe richieste",
    500: "Errore interno",
    503: "Servizio non disponibile",
}


def wants_json(request: Request) -> bool:
    return (
        request.url.path.startswith("/api/")
        or "application/json" in request.headers.get("accept", "").split(",")[0]
    )


def error_response(
    request: Request, status: int, code: str, detail: str, **extra: object
) -> Response:
    if wants_json(request):
        return JSONResponse({"error": code, "detail": detail, **extra}, status_code=status)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    from sportello.channels.web.templating import page

    return page(
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, "Errore"), "detail": detail},
        status=status,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SportelloError)
    async def sportello_error(request: Request, exc: SportelloError) -> Response:
        extra: dict[str, object] = {}
        if isinstance(exc, SlotTaken):
            extra["alternatives"] = [a.model_dump(mode="json") for a in exc.alternatives]
        if isinstance(exc, RateLimited):
            extra["retry_after"] = exc.retry_after
        response = error_response(request, exc.code.status, exc.code.code, exc.detail, **extra)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code, default = HTTP_CODES.get(exc.status_code, ("error", "Errore."))
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else default
        response = error_response(request, exc.status_code, code, detail)
        for name, value in (exc.headers or {}).items():  # 405's Allow, 401's WWW-Authenticate
            response.headers[name] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(
                str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")
            )
            problems.append(f"{where}: {err.get('msg', '')}" if where else str(err.get("msg", "")))
        status = 422 if wants_json(request) else 400
        return error_response(
            request,
            status,
            ErrorCode.INVALID_INPUT.code,
            "Dati non validi — " + "; ".join(problems),
        )

    @app.exception_handler(OverflowError)
    async def out_of_range(request: Request, exc: OverflowError) -> Response:
        # An id beyond what the database can hold (SQLite: 64 bits) names nothing we have.
        return error_response(
            request, 400, ErrorCode.INVALID_INPUT.code, "Valore fuori dall'intervallo ammesso."
        )

    # Database errors get their own handler: the catch-all below runs in Starlette's outer
    # middleware, which re-raises after answering, and the server then drops the connection.
    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def database_error(request: Request, exc: Exception) -> Response:
        if not database_unavailable(exc):
            logger.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
            return error_response(request, 500, "internal", "Si è verificato un errore interno.")
        logger.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            type(exc.orig if isinstance(exc, DBAPIError) else exc).__name__,
        )
        response = error_response(request, 503, ErrorCode.UNAVAILABLE.code, UNAVAILABLE_DETAIL)
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal", "Si è verificato un errore interno.")


UNAVAILABLE_DETAIL = "Il servizio è momentaneamente non disponibile: riprova tra qualche secondo."


def database_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached right now (restarting, connection lost, pool exhausted):
    a 503 the client may retry, not an internal error."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
