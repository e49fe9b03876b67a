"""`sportello person export|erase`: a person's data on request (GDPR arts. 15 and 17), found by
a ticket code or a Telegram id, for requests that reach the staff by e-mail or phone."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from sportello.cli.common import clock, database, database_label, edge, fail, settings
from sportello.conversations.models import Channel
from sportello.privacy import export as access
from sportello.privacy.erasure import erase_person

app = typer.Typer(no_args_is_help=True)

Ticket = Annotated[str | None, typer.Option("--ticket", help="A ticket code of the person.")]
Telegram = Annotated[str | None, typer.Option("--telegram", help="The person's Telegram id.")]


def _who(ticket: str | None, telegram: str | None, session: object) -> tuple[str, str]:
    if bool(ticket) == bool(telegram):
        raise fail("Indica la persona con --ticket CODICE oppure con --telegram ID (uno dei due).")
    if telegram:
        if not telegram.strip().lstrip("-").isdigit():
            raise fail("L'id Telegram è un numero (es. 123456789).")
        return str(Channel.TELEGRAM), telegram.strip()
    return access.owner_of_ticket(str(ticket), session=session)  # type: ignore[arg-type]


@app.command()
def export(ticket: Ticket = None, telegram: Telegram = None) -> None:
    """Print as JSON everything kept about the person: conversations, messages, tickets."""
    cfg = settings()
    sessions = database(cfg, create=False)
    with edge(), sessions.begin() as session:
        channel, ref = _who(ticket, telegram, session)
        data = access.person_data(channel, ref, session=session)
    typer.echo(json.dumps(data, ensure_ascii=False, indent=1))


@app.command()
def erase(
    ticket: Ticket = None,
    telegram: Telegram = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Forget the person: conversations deleted, tickets kept anonymised, open ones cancelled."""
    cfg = settings()
    sessions = database(cfg, create=False)
    with edge(), sessions.begin() as session:
        channel, ref = _who(ticket, telegram, session)
        if not yes:
            typer.confirm(
                f"Cancellare i dati della persona ({channel}) in {database_label(cfg)}?",
                abort=True,
            )
        done = erase_person(channel, ref, session=session, settings=cfg, now=clock(cfg).now())
    typer.echo(
        f"Cancellate {done.conversations} conversazioni ({done.messages} messaggi); "
        f"{done.tickets} richieste rese anonime."
    )
