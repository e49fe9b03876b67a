"""`sportello desk desks | experts | activate | deactivate | remove-demo`: the admin's rules on the CLI."""

from __future__ import annotations

import json
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from sportello.cli.common import clock, database, edge, fail, settings
from sportello.desk import directory
from sportello.desk.tickets import Actor

console = Console()


def desks(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every desk: code, name, kind, where, active, demo."""
    cfg = settings()
    with edge(), database(cfg).begin() as session:
        rows = [
            {
                "slug": d.slug,
                "name": d.name,
                "kind": str(d.kind),
                "where": d.location,
                "active": d.active,
                "demo": d.is_example,
            }
            for d in directory.list_desks(session)
        ]
    _show(rows, as_json, ("codice", "nome", "tipo", "dove", "attivo", "demo"))


def experts(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every expert: code, name, topics, active, demo."""
    cfg = settings()
    with edge(), database(cfg).begin() as session:
        rows = [
            {
                "slug": e.slug,
                "name": e.name,
                "topics": ", ".join(e.topic_names),
                "telegram": e.telegram_chat_id or "",
                "active": e.active,
                "demo": e.is_example,
            }
            for e in directory.list_experts(session)
        ]
    _show(rows, as_json, ("codice", "nome", "temi", "telegram", "attivo", "demo"))


def _show(rows: list[dict[str, object]], as_json: bool, headers: tuple[str, ...]) -> None:
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(*headers)
    for row in rows:
        table.add_row(
            *(("sì" if v else "no") if isinstance(v, bool) else str(v) for v in row.values())
        )
    console.print(table)


def activate(
    what: Annotated[directory.Kind, typer.Argument(help="desk | expert")],
    ref: Annotated[str, typer.Argument(help="Code (slug) or id.")],
) -> None:
    """Make a desk or an expert bookable again (its weekly openings produce slots)."""
    cfg = settings()
    with edge(), database(cfg).begin() as session:
        name = directory.activate(what, ref, session=session, settings=cfg, now=clock(cfg).now())
    typer.echo(f"Riattivato «{name}».")


def deactivate(
    what: Annotated[directory.Kind, typer.Argument(help="desk | expert")],
    ref: Annotated[str, typer.Argument(help="Code (slug) or id.")],
    bookings: Annotated[
        str,
        typer.Option(
            "--bookings",
            help="Future bookings: ask (list them, change nothing), reassign (same time, "
            "another expert of the topic), cancel (notify each volunteer).",
        ),
    ] = "ask",
) -> None:
    """Stop offering a desk or an expert; say what happens to their future bookings."""
    cfg = settings()
    tz = ZoneInfo(cfg.desk_timezone)
    with edge():
        how = directory.decision(bookings)
        try:
            with database(cfg).begin() as session:
                report = directory.deactivate(
                    what,
                    ref,
                    how,
                    session=session,
                    settings=cfg,
                    now=clock(cfg).now(),
                    actor=Actor.staff("cli"),
                )
        except directory.DecisionNeeded as exc:
            for a in exc.affected:
                moved = f"→ {a.replacement}" if a.replacement else "→ nessun sostituto libero"
                typer.echo(
                    f"{a.ticket_code}  {a.starts_at.astimezone(tz):%d/%m/%Y %H:%M}  "
                    f"{a.expert_name} · {a.desk_name}  {moved}"
                )
            raise fail(exc.detail + " Usa --bookings reassign oppure --bookings cancel.") from None
    typer.echo(
        f"Disattivato «{report.name}»: appuntamenti riassegnati {report.reassigned}, annullati "
        f"{report.cancelled} (con avviso), richieste rimesse in coda {report.released_tickets}."
    )


def remove_demo_command(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete the demo desks and experts; their future bookings are cancelled with a notice."""
    cfg = settings()
    if not yes and not typer.confirm(
        "Eliminare sportelli ed esperti dimostrativi? Gli appuntamenti futuri con loro vengono "
        "annullati avvisando chi li ha prenotati."
    ):
        raise fail("Nessuna modifica.")
    with edge(), database(cfg).begin() as session:
        done = directory.remove_demo(
            session=session, settings=cfg, now=clock(cfg).now(), actor=Actor.staff("cli")
        )
    if done.nothing:
        typer.echo("Nessun dato dimostrativo presente.")
        return
    typer.echo(
        f"Eliminati {done.desks} sportelli e {done.experts} esperti dimostrativi; "
        f"{done.cancelled_bookings} appuntamenti futuri annullati con avviso, "
        f"{done.deleted_bookings} prenotazioni dimostrative cancellate, "
        f"{done.released_tickets} richieste rimesse in coda per gli esperti reali."
    )


def register(app: typer.Typer) -> None:
    app.command("desks")(desks)
    app.command("experts")(experts)
    app.command("activate")(activate)
    app.command("deactivate")(deactivate)
    app.command("remove-demo")(remove_demo_command)
