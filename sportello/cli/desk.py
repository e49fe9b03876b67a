"""`sportello desk …`: demo data, free slots, tickets, reminders, experts' e-mail."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from sportello.cli import directory
from sportello.cli.common import clock, database, edge, fail, settings
from sportello.conversations import reading
from sportello.desk import scheduling, seed
from sportello.desk import tickets as desk_tickets
from sportello.desk.models import NewTicketMail, TicketStatus
from sportello.desk.notifications import WEEKDAYS, MailPreferences, set_expert_email
from sportello.desk.notifications import describe_mail as describe
from sportello.desk.scheduling import queue_digests_once
from sportello.knowledge.documents import Topic

app = typer.Typer(no_args_is_help=True)
console = Console()
directory.register(app)


@app.command("seed-demo")
def seed_demo(
    file: Annotated[Path, typer.Option("--file", help="YAML of desks and experts.")] = (
        seed.DEMO_FILE
    ),
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Skip if desks exist.")] = False,
) -> None:
    """Load desks, experts and weekly availability (default: the example data)."""
    cfg = settings()
    sessions = database(cfg)
    with edge():
        data = seed.load_seed(file)
        with sessions.begin() as session:
            report = seed.apply_seed(
                data, session=session, settings=cfg, if_empty=if_empty, now=clock(cfg).now()
            )
    if report.skipped:
        typer.echo("Sportelli già presenti: nessun dato caricato.")
        return
    note = " (DATI DIMOSTRATIVI)" if data.example else ""
    typer.echo(
        f"Caricati {report.desks} sportelli, {report.experts} esperti, {report.rules} fasce "
        f"orarie, {report.exceptions} chiusure; {report.slots.created} nuovi orari "
        f"prenotabili{note}."
    )
    if report.demo_desks_removed or report.demo_experts_removed:
        typer.echo(
            f"Rimossi i dati dimostrativi: {report.demo_desks_removed} sportelli, "
            f"{report.demo_experts_removed} esperti; {report.demo_bookings_cancelled} "
            f"appuntamenti futuri annullati con avviso, {report.demo_tickets_released} "
            "richieste rimesse in coda."
        )


@app.command()
def slots(
    topic: Annotated[Topic | None, typer.Option(help="Only experts covering TOPIC.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The next free slots (for one topic, or for every topic)."""
    cfg = settings()
    sessions = database(cfg)
    topics = [topic] if topic else list(Topic)
    with edge(), sessions.begin() as session:
        seen: dict[int, scheduling.SlotOffer] = {}
        for t in topics:
            for offer in scheduling.offer_slots(
                t, session=session, settings=cfg, limit=limit, now=clock(cfg).now()
            ):
                seen.setdefault(offer.slot_id, offer)
    offers = sorted(seen.values(), key=lambda o: (o.starts_at, o.slot_id))[:limit]
    if as_json:
        typer.echo(json.dumps([o.model_dump(mode="json") for o in offers], ensure_ascii=False))
        return
    if not offers:
        typer.echo("Nessun orario libero.")
        return
    table = Table("id", "quando", "sportello", "esperto", "dove")
    for o in offers:
        table.add_row(
            str(o.slot_id),
            f"{WEEKDAYS[o.local_start.weekday()][:3]} {o.local_start:%d/%m/%Y %H:%M}",
            o.desk_name,
            o.expert_name,
            o.location,
        )
    console.print(table)


@app.command()
def tickets(
    status: Annotated[TicketStatus | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    export: Annotated[
        str | None,
        typer.Option(
            "--export",
            help="'csv': one row per ticket with its transcript, for the staff (on stdout).",
        ),
    ] = None,
) -> None:
    """The most recent tickets, with their status and expert."""
    if export not in (None, "csv"):
        raise fail("--export accetta solo 'csv'.")
    cfg = settings()
    sessions = database(cfg)
    tz = ZoneInfo(cfg.desk_timezone)
    with edge(), sessions.begin() as session:
        rows = desk_tickets.list_tickets(
            session=session, statuses=[status] if status else None, limit=limit
        )
        data = [
            {
                "code": t.code,
                "status": str(t.status),
                "topic": t.topic,
                "expert": t.assigned_expert.name if t.assigned_expert else None,
                "created_at": t.created_at.astimezone(tz).isoformat(timespec="minutes"),
                "summary": t.summary,
                "outcome": t.outcome or "",
                "transcript": _transcript(session, t.conversation_id, tz) if export else "",
            }
            for t in rows
        ]
    if export:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(data[0]) if data else ["code"])
        writer.writeheader()
        writer.writerows(data)
        return
    for d in data:
        del d["outcome"], d["transcript"]
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    if not data:
        typer.echo("Nessuna richiesta.")
        return
    table = Table("codice", "stato", "tema", "esperto", "aperto il", "richiesta")
    for d in data:
        table.add_row(
            str(d["code"]),
            str(d["status"]),
            str(d["topic"]),
            str(d["expert"] or "—"),
            str(d["created_at"]),
            str(d["summary"])[:60],
        )
    console.print(table)


def _transcript(session: Session, conversation_id: int | None, tz: ZoneInfo) -> str:
    """The conversation behind a ticket, one line per message (the staff's export)."""
    if conversation_id is None:
        return ""
    return "\n".join(
        f"[{m.created_at.astimezone(tz):%d/%m %H:%M}] {m.role}: {m.text}"
        for m in reading.transcript(session=session, conversation_id=conversation_id)
    )


@app.command()
def remind() -> None:
    """Queue the reminders (and e-mail digests) due now; run every few minutes, never twice."""
    cfg = settings()
    sessions = database(cfg)
    with edge(), sessions.begin() as session:
        added = scheduling.queue_due_reminders(session=session, settings=cfg, now=clock(cfg).now())
    typer.echo(f"Promemoria messi in coda: {added}.")
    if cfg.email_enabled:
        daily = queue_digests_once(sessions, cfg, clock(cfg))
        typer.echo(f"Riepiloghi e agende via e-mail messi in coda: {daily}.")


@app.command("expert-email")
def expert_email(
    expert: Annotated[str, typer.Argument(help="The expert's code (slug).")],
    email: Annotated[str | None, typer.Argument(help="New address; omit to keep it.")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Stop all e-mail.")] = False,
    new_tickets: Annotated[
        NewTicketMail | None, typer.Option(help="New tickets in my topics: at once, daily, off.")
    ] = None,
    digest_hour: Annotated[int | None, typer.Option(min=0, max=23)] = None,
    bookings: Annotated[
        bool | None, typer.Option("--bookings/--no-bookings", help="Bookings, moves, reminders.")
    ] = None,
    messages: Annotated[
        bool | None, typer.Option("--messages/--no-messages", help="Volunteers' messages.")
    ] = None,
    agenda: Annotated[
        bool | None, typer.Option("--agenda/--no-agenda", help="Tomorrow's appointments.")
    ] = None,
    agenda_hour: Annotated[int | None, typer.Option(min=0, max=23)] = None,
) -> None:
    """Show or set an expert's e-mail address and what they receive by e-mail."""
    cfg = settings()
    sessions = database(cfg)
    prefs = MailPreferences(new_tickets, digest_hour, bookings, messages, agenda, agenda_hour)
    with edge(), sessions.begin() as session:
        row = set_expert_email(expert, email, prefs, session=session, remove=remove)
        data = describe(row)
    typer.echo(json.dumps(data, ensure_ascii=False, indent=1))
