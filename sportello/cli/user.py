"""`sportello user …`: staff and expert accounts of the web console and admin."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sportello.accounts import management, service
from sportello.accounts.models import UserRole
from sportello.cli.common import database, edge, fail, settings
from sportello.desk import directory
from sportello.desk import queries as desk_queries

app = typer.Typer(no_args_is_help=True)
console = Console()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise fail("Nessuna password sullo standard input.")
        return password
    first = typer.prompt("Password", hide_input=True)
    second = typer.prompt("Ripeti la password", hide_input=True)
    if first != second:
        raise fail("Le due password non coincidono.")
    return str(first)


@app.command()
def add(
    username: Annotated[str, typer.Argument(help="Nome utente (minuscole, cifre, . _ -).")],
    role: Annotated[UserRole, typer.Option("--role", help="expert | staff")],
    expert_id: str = typer.Option(
        None, "--expert-id", help="Esperto dello sportello (id o slug) legato all'account."
    ),
    name: str = typer.Option(None, "--name", help="Nome mostrato (default: il nome utente)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Leggi la password dalla prima riga dello stdin."
    ),
) -> None:
    """Create an account; the password is asked twice, or read from stdin."""
    password = _read_password(password_stdin)
    cfg = settings()
    sessions = database(cfg)
    with edge(), sessions.begin() as session:
        linked: int | None = None
        if expert_id:
            expert = (
                desk_queries.get_expert(session, int(expert_id))
                if expert_id.isdigit()
                else desk_queries.expert_by_slug(session, expert_id)
            )
            if expert is None:
                raise fail(f"Nessun esperto «{expert_id}».")
            linked = expert.id
        if role == UserRole.EXPERT and linked is None:
            typer.secho(
                "Attenzione: un esperto senza --expert-id vede la coda ma non può prendere in "
                "carico né rispondere.",
                fg=typer.colors.YELLOW,
                err=True,
            )
        user = service.create_user(
            session=session,
            username=username,
            password=password,
            role=role,
            display_name=name,
            expert_id=linked,
        )
        typer.echo(f"Creato l'utente {user.username} ({user.role}).")


@app.command("list")
def list_users(as_json: bool = typer.Option(False, "--json")) -> None:
    """List accounts with role, linked expert and lock state."""
    cfg = settings()
    sessions = database(cfg)
    with sessions.begin() as session:
        rows = [
            {
                "username": u.username,
                "name": u.display_name,
                "role": str(u.role),
                "expert_id": u.expert_id,
                "active": u.active,
                "locked_until": u.locked_until.isoformat() if u.locked_until else None,
            }
            for u in service.list_users(session=session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("utente", "nome", "ruolo", "esperto", "attivo", "bloccato fino a")
    for r in rows:
        table.add_row(
            str(r["username"]),
            str(r["name"]),
            str(r["role"]),
            str(r["expert_id"] or ""),
            "sì" if r["active"] else "no",
            str(r["locked_until"] or ""),
        )
    console.print(table)


@app.command()
def unlock(username: str) -> None:
    """Lift a lock-out after too many wrong passwords."""
    sessions = database(settings())
    with edge(), sessions.begin() as session:
        service.unlock(session=session, username=username)
    typer.echo(f"Sbloccato {username}.")


@app.command()
def passwd(
    username: str,
    password_stdin: bool = typer.Option(False, "--password-stdin"),
) -> None:
    """Set a new password (logs the user out everywhere)."""
    password = _read_password(password_stdin)
    sessions = database(settings())
    with edge(), sessions.begin() as session:
        service.set_password(session=session, username=username, password=password)
    typer.echo(f"Password aggiornata per {username}.")


@app.command()
def disable(username: str) -> None:
    """Disable an account and end its sessions (never the last active staff account)."""
    sessions = database(settings())
    with edge(), sessions.begin() as session:
        management.set_active(session=session, username=username, active=False)
    typer.echo(f"Disattivato {username}.")


@app.command()
def role(
    username: str,
    new_role: Annotated[str, typer.Argument(metavar="ROLE", help="expert | staff")],
    expert_id: str = typer.Option(
        None, "--expert-id", help="Esperto dello sportello (id o slug); omesso: nessuno."
    ),
) -> None:
    """Change an account's role and linked expert (its sessions end)."""
    sessions = database(settings())
    with edge(), sessions.begin() as session:
        linked = directory.find_expert(session, expert_id).id if expert_id else None
        management.set_role(session=session, username=username, role=new_role, expert_id=linked)
    typer.echo(f"{username}: ruolo {new_role.strip().lower()}.")


@app.command()
def enable(username: str) -> None:
    """Enable a disabled account again (it signs in with its current password)."""
    sessions = database(settings())
    with edge(), sessions.begin() as session:
        service.set_active(session=session, username=username, active=True)
    typer.echo(f"Riattivato {username}.")
