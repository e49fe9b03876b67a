"""Jinja2 templates of the web channel and the filters they use (Italian dates, labels)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from sportello.channels.web import render
from sportello.channels.web.security import principal, services
from sportello.conversations.gaps import REASON_LABELS, GapReason
from sportello.desk import notifications
from sportello.desk.models import TicketStatus
from sportello.desk.tickets import STATUS_LABELS
from sportello.knowledge.documents import TOPIC_LABELS, Topic

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_VERSION = "1"

# Confirmations shown after a form redirects back (?ok=code): fixed texts, never echoed input.
NOTICES = {
    "claimed": "Hai preso in carico il ticket.",
    "replied": "Risposta inviata: la persona la riceverà sul suo canale.",
    "noted": "Nota interna salvata.",
    "closed": "Ticket chiuso.",
    "cancelled": "Ticket annullato.",
    "unbooked": "Appuntamento annullato.",
    "rule_added": "Fascia oraria aggiunta: gli orari prenotabili sono aggiornati.",
    "rule_deleted": "Fascia oraria eliminata.",
    "absence_added": "Assenza registrata: gli orari di quei giorni non sono più prenotabili.",
    "absence_deleted": "Assenza eliminata.",
    "uploaded": "Documento caricato e indicizzato.",
    "retired": "Documento ritirato: non viene più usato nelle risposte.",
    "restored": "Documento ripristinato.",
    "promoted": "Nuova FAQ aggiunta alla base di conoscenza.",
    "example": "Esempio salvato: l'assistente ne terrà conto entro pochi minuti.",
    "example_removed": "Esempio eliminato.",
    "logged_out": "Sei uscito.",
    "feedback": "Grazie per il tuo voto.",
    "erased": "I tuoi dati sono stati cancellati. Puoi iniziare una nuova conversazione.",
}

templates = Jinja2Templates(directory=TEMPLATES_DIR)
env = templates.env
env.trim_blocks = True
env.lstrip_blocks = True


@pass_context
def _local(context: Context, value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if value is None:
        return ""
    tz: ZoneInfo = context["tz"]
    return value.astimezone(tz).strftime(fmt)


@pass_context
def _when(context: Context, value: datetime | None) -> str:
    return notifications.when(value, context["tz"]) if value else ""


def _day(value: date | None) -> str:
    if value is None:
        return ""
    return f"{notifications.WEEKDAYS[value.weekday()]} {value.day} {notifications.MONTHS[value.month - 1]}"


def _topic(value: str | None) -> str:
    return notifications.topic_label(value) if value else "—"


def _status(value: str) -> str:
    try:
        return STATUS_LABELS[TicketStatus(value)]
    except ValueError:
        return value


def _reason(value: str) -> str:
    try:
        return REASON_LABELS[GapReason(value)]
    except ValueError:
        return value


def _message_html(text: str, citations: list[dict[str, Any]], anchor: str) -> Any:
    numbers = {int(c["number"]) for c in citations if "number" in c}
    return render.to_html(text, anchor=anchor, numbers=numbers)


def _actor(value: str) -> str:
    """'expert:3' → 'esperto n. 3', 'volunteer' → 'volontario' (the ticket history)."""
    kind, _, ref = value.partition(":")
    label = {
        "volunteer": "volontario",
        "expert": "esperto",
        "staff": "staff",
        "system": "sistema",
    }.get(kind, kind)
    if kind == "expert" and ref:
        return f"{label} n. {ref}"
    return f"{label} {ref}".strip()


def _percent(part: float, whole: float) -> str:
    return f"{round(100 * part / whole)}%" if whole else "—"


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{round(value * 60)} min"
    if value < 48:
        return f"{value:.1f} ore".replace(".", ",")
    return f"{value / 24:.1f} giorni".replace(".", ",")


env.filters.update(
    local=_local,
    when=_when,
    day=_day,
    topic=_topic,
    status=_status,
    reason=_reason,
    message_html=_message_html,
    percent=_percent,
    actor=_actor,
    hours=_hours,
)
env.globals.update(
    TOPICS=[(t.value, TOPIC_LABELS[t]) for t in Topic],
    STATUSES=[(s.value, STATUS_LABELS[s]) for s in TicketStatus],
    STATIC_VERSION=STATIC_VERSION,
)


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    csrf: str | None = None,
) -> HTMLResponse:
    """Render a page with what every page needs: who is logged in, their CSRF token, the tz."""
    svc = services(request)
    who = principal(request) if hasattr(request.app.state, "services") else None
    values: dict[str, Any] = {
        "user": who,
        "csrf_token": csrf or (who.csrf_token if who else ""),
        "tz": ZoneInfo(svc.settings.desk_timezone),
        "path": request.url.path,
        "notice": NOTICES.get(request.query_params.get("ok", ""), ""),
    }
    values.update(context or {})
    return templates.TemplateResponse(request, name, values, status_code=status)


def render_partial(request: Request, name: str, **context: Any) -> str:
    """A fragment (one message, the hand-over panel) for the JavaScript to insert."""
    svc = services(request)
    values: dict[str, Any] = {"tz": ZoneInfo(svc.settings.desk_timezone), "request": request}
    values.update(context)
    return env.get_template(name).render(values)
