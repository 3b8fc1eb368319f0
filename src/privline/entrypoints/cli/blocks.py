"""`privline block add|list|remove`: numbers a facility's residents may not call."""

from __future__ import annotations

from typing import Annotated

import typer

from privline.bootstrap import utcnow
from privline.entrypoints.cli.app import (
    OPERATOR,
    Json,
    Limit,
    Offset,
    app,
    emit,
    more_at_offset,
    runtime,
)
from privline.entrypoints.records_json import (
    block_json,
)
from privline.services import blocks, records

block_app = typer.Typer(help="Blocked numbers.", no_args_is_help=True)
app.add_typer(block_app, name="block")


@block_app.command("add")
def block_add(
    facility: Annotated[str, typer.Option()],
    number: Annotated[str, typer.Option()],
    reason: Annotated[str, typer.Option()],
    resident: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Block a number at a facility, or for one resident. The same block twice is refused."""
    added = blocks.block_number(runtime().uow, OPERATOR, facility_id=facility, number=number,
                                reason=reason, resident_id=resident, now=utcnow())
    if added.warning:
        typer.echo(f"privline: warning: {added.warning}", err=True)
    typer.echo(f"{added.number} blocked (block {added.id})")


@block_app.command("list")
def block_list(facility: Annotated[str | None, typer.Option()] = None,
               limit: Limit = 100, offset: Offset = 0, json_out: Json = False) -> None:
    """List blocked numbers, each with the id `block remove` takes."""
    found = records.list_blocks(runtime().uow, OPERATOR, facility_id=facility, limit=limit,
                                offset=offset)
    if json_out:
        emit({"blocks": [block_json(b) for b in found.items], "more": found.more})
        return
    if not found.items:
        typer.echo("no blocks")
    for b in found.items:
        typer.echo(f"{b.id}\t{b.facility_id}\t{b.resident_id or '(all residents)'}\t"
                   f"{b.number}\t{b.reason}")
    more_at_offset(found.more, offset, limit)


@block_app.command("remove")
def block_remove(block_id: int, reason: Annotated[str, typer.Option(
        help="Why (kept in the audit log).")]) -> None:
    """Remove a block."""
    block = records.remove_block(runtime().uow, OPERATOR, block_id, reason=reason,
                                 now=utcnow())
    typer.echo(f"block {block_id} removed ({block.number} at {block.facility_id})")
