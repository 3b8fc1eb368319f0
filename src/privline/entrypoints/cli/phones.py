"""`privline phone add|list|remove`: phones known by their SIP digest credentials."""

from __future__ import annotations

from typing import Annotated

import typer

from privline.bootstrap import utcnow
from privline.entrypoints.cli.app import OPERATOR, Json, app, emit, runtime
from privline.services import phones

phone_app = typer.Typer(help="Phones that sign in with a SIP username and password.",
                        no_args_is_help=True)
app.add_typer(phone_app, name="phone")


@phone_app.command("add")
def phone_add(
    facility: Annotated[str, typer.Option()],
    username: Annotated[str, typer.Option(help="The phone's SIP (auth) username.")],
    password: Annotated[str, typer.Option(
        prompt=True, hide_input=True,
        help="Asked for when not given (a command line is visible to other users).")],
) -> None:
    """Give a phone credentials: its calls are the facility's wherever it is. Only the
    password's HA1 (what SIP digest needs) is kept."""
    added = phones.add_phone(runtime().uow, OPERATOR, facility_id=facility,
                             username=username, password=password, now=utcnow())
    typer.echo(f"phone {added.username} added to facility {added.facility_id}")


@phone_app.command("list")
def phone_list(facility: Annotated[str | None, typer.Option()] = None,
               json_out: Json = False) -> None:
    """Phones with credentials (never their password or HA1)."""
    found = phones.list_phones(runtime().uow, OPERATOR, facility)
    if json_out:
        emit({"phones": [{"username": p.username, "facility": p.facility_id,
                          "created_at": p.created_at.isoformat()} for p in found]})
        return
    if not found:
        typer.echo("no phones")
    for p in found:
        typer.echo(f"{p.username}\t{p.facility_id}\t{p.created_at.isoformat()}")


@phone_app.command("remove")
def phone_remove(username: str) -> None:
    """Remove a phone's credentials (its next call is refused, or known by address)."""
    phones.remove_phone(runtime().uow, OPERATOR, username, now=utcnow())
    typer.echo(f"phone {username} removed")
