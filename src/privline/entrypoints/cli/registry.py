"""`privline registry add|verify|revoke|expire|check|list`: the privileged-number
registry (imports and the review queue are in imports.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from privline.bootstrap import utcnow
from privline.domain.registry import Status
from privline.entrypoints.cli.app import (
    OPERATOR,
    Json,
    app,
    emit,
    more_line,
    runtime,
    whole,
)
from privline.entrypoints.serialize import check_json, entry_json
from privline.services import registry

registry_app = typer.Typer(help="The privileged-number registry.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")


@registry_app.command("add")
def registry_add(
    number: Annotated[str, typer.Option()],
    kind: Annotated[str, typer.Option(help="attorney, physician, mental_health, "
                                           "religious_adviser, legal_advocate")],
    name: Annotated[str, typer.Option(help="The holder's name.")],
    credential: Annotated[str, typer.Option(help="E.g. NY-1234567 or an NPI.")],
    verified: Annotated[bool, typer.Option("--verified")] = False,
    json_out: Json = False,
) -> None:
    """Register a privileged number (pending unless --verified)."""
    entry = registry.add_entry(runtime().uow, OPERATOR, number=number, kind=kind, holder=name,
                               credential=credential, verified=verified, now=utcnow())
    if json_out:
        emit(entry_json(entry))
    else:
        typer.echo(f"entry {entry.id}: {entry.number} {entry.status}")


def _transition(entry_id: int, target: Status, reason: str, json_out: bool) -> None:
    entry = registry.change_status(runtime().uow, OPERATOR, entry_id, target, now=utcnow(),
                                   note=reason)
    if json_out:
        emit(entry_json(entry))
    else:
        typer.echo(f"entry {entry.id}: {entry.number} {entry.status}")


Reason = Annotated[str, typer.Option(help="Why (kept in the audit log).")]


EntryId = Annotated[int, typer.Argument(parser=whole, metavar="ENTRY_ID")]


@registry_app.command("verify")
def registry_verify(entry_id: EntryId, reason: Reason = "", json_out: Json = False) -> None:
    """Verify an entry: its number is protected from now on, in every facility."""
    _transition(entry_id, Status.VERIFIED, reason, json_out)


@registry_app.command("revoke")
def registry_revoke(entry_id: EntryId, reason: Reason = "", json_out: Json = False) -> None:
    """Revoke an entry."""
    _transition(entry_id, Status.REVOKED, reason, json_out)


@registry_app.command("expire")
def registry_expire(entry_id: EntryId, reason: Reason = "", json_out: Json = False) -> None:
    """Confirm that a verified entry has expired: it stops protecting its number."""
    _transition(entry_id, Status.EXPIRED, reason, json_out)


@registry_app.command("check")
def registry_check(number: str, json_out: Json = False) -> None:
    """Is NUMBER privileged now?"""
    result = registry.check(runtime().uow, OPERATOR, number, now=utcnow())
    if json_out:
        emit(check_json(result))
    else:
        typer.echo(f"{result.number}: {'privileged' if result.privileged else 'not privileged'}")


@registry_app.command("list")
def registry_list(
    status: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(parser=whole)] = 100,
    offset: Annotated[int, typer.Option(parser=whole)] = 0,
    json_out: Json = False,
) -> None:
    """List registry entries."""
    uow = runtime().uow
    entries = registry.list_entries(uow, OPERATOR, status=status, limit=limit, offset=offset)
    # One entry past the page says whether the list stopped at its limit.
    more = len(entries) == limit and bool(registry.list_entries(
        uow, OPERATOR, status=status, limit=1, offset=offset + limit))
    if json_out:
        emit({"entries": [entry_json(e) for e in entries], "more": more})
        return
    if not entries:
        typer.echo("no entries")
    for e in entries:
        typer.echo(f"{e.id}\t{e.number}\t{e.kind}\t{e.status}\t{e.holder}")
    if more:
        more_line(limit, f"--offset {offset + limit}")
