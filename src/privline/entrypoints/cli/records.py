"""`privline facility list|show|set`, `resident list|show|unlock|set-pin|deactivate|move`,
`account show`, `block list|remove`: every record can be listed, shown and changed."""

from __future__ import annotations

from typing import Annotated

import typer

from privline.bootstrap import utcnow
from privline.entrypoints.cli.app import OPERATOR, emit, more_line, runtime
from privline.entrypoints.cli.commands import account_app, block_app, facility_app, resident_app
from privline.entrypoints.records_json import (
    account_json,
    block_json,
    facility_json,
    resident_json,
    resident_view_json,
)
from privline.services import records

Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
Limit = Annotated[int, typer.Option(help="At most this many.")]
Offset = Annotated[int, typer.Option(help="Skip this many first.")]


def _more(more: bool, offset: int, limit: int) -> None:
    if more:
        more_line(limit, f"--offset {offset + limit}")


# --- facilities


@facility_app.command("list")
def facility_list(json_out: Json = False) -> None:
    """List facilities with the rate charged beside the cap in force."""
    views = records.list_facilities(runtime().uow, OPERATOR, now=utcnow())
    if json_out:
        emit({"facilities": [facility_json(v) for v in views]})
        return
    if not views:
        typer.echo("no facilities")
    for v in views:
        cap = f"cap {v.cap.per_minute} ({v.cap.order})" if v.cap else "no cap"
        typer.echo(f"{v.facility.id}\t{v.facility.name}\t{v.facility.kind}\t"
                   f"adp {v.facility.adp}\trate {v.rate}\t{cap}")


@facility_app.command("show")
def facility_show(facility_id: str, json_out: Json = False) -> None:
    """Show one facility's settings."""
    view = records.show_facility(runtime().uow, OPERATOR, facility_id, now=utcnow())
    data = facility_json(view)
    if json_out:
        emit(data)
    else:
        for key, value in data.items():
            typer.echo(f"{key}: {value}")


@facility_app.command("set")
def facility_set(
    facility_id: str,
    name: Annotated[str | None, typer.Option()] = None,
    adp: Annotated[int | None, typer.Option(help="Average daily population.")] = None,
    rate: Annotated[str | None, typer.Option(
        help="USD per minute (never above the cap), or 'cap' to charge the cap.")] = None,
    max_minutes: Annotated[int | None, typer.Option()] = None,
    reminder_interval: Annotated[int | None, typer.Option(help="Seconds.")] = None,
    phones: Annotated[str | None, typer.Option(help="CIDRs, comma-separated.")] = None,
    unknown_privilege: Annotated[str | None, typer.Option(
        help="refuse or connect_unrecorded")] = None,
    json_out: Json = False,
) -> None:
    """Change a facility's settings (audited)."""
    changes = records.FacilityChanges(
        name=name, adp=adp,
        rate=None if rate is None or rate == "cap" else records.parse_rate(rate),
        rate_to_cap=rate == "cap", max_minutes=max_minutes,
        reminder_interval_s=reminder_interval,
        phones=None if phones is None else tuple(p.strip() for p in phones.split(",")
                                                  if p.strip()),
        unknown_privilege=unknown_privilege)
    view = records.set_facility(runtime().uow, OPERATOR, facility_id, changes, now=utcnow())
    if json_out:
        emit(facility_json(view))
    else:
        typer.echo(f"facility {facility_id} updated; rate {view.rate}")


# --- residents


@resident_app.command("list")
def resident_list(
    facility: Annotated[str | None, typer.Option()] = None,
    search: Annotated[str | None, typer.Option(help="Part of the resident's id.")] = None,
    limit: Limit = 100, offset: Offset = 0, json_out: Json = False,
) -> None:
    """List residents with their balance, status and lockout."""
    now = utcnow()
    found = records.list_residents(runtime().uow, OPERATOR, facility_id=facility,
                                   query=search, limit=limit, offset=offset)
    rows = [resident_json(r, locked=r.locked_until is not None and now < r.locked_until)
            for r in found.items]
    if json_out:
        emit({"residents": rows, "more": found.more})
        return
    if not rows:
        typer.echo("no residents")
    for r in rows:
        typer.echo(f"{r['id']}\t{r['facility']}\t{r['status']}\t"
                   f"{'locked' if r['locked'] else 'unlocked'}\t"
                   f"${r['balance_cents'] / 100:.2f}")
    _more(found.more, offset, limit)


@resident_app.command("show")
def resident_show(resident_id: str, json_out: Json = False) -> None:
    """Show a resident: lockout, balance and recent calls."""
    view = records.show_resident(runtime().uow, OPERATOR, resident_id, now=utcnow())
    data = resident_view_json(view)
    if json_out:
        emit(data)
        return
    for key, value in data.items():
        if key != "recent_calls":
            typer.echo(f"{key}: {value}")
    typer.echo(f"recent calls: {len(view.recent_calls) or 'none'}")
    for c in view.recent_calls:
        typer.echo(f"  {c.at.isoformat()}\t{c.number}\t{c.mode}\t{c.reason}")


@resident_app.command("unlock")
def resident_unlock(resident_id: str) -> None:
    """Lift a PIN lockout."""
    records.unlock_resident(runtime().uow, OPERATOR, resident_id, now=utcnow())
    typer.echo(f"resident {resident_id} unlocked")


@resident_app.command("set-pin")
def resident_set_pin(resident_id: str, pin: Annotated[str, typer.Option()]) -> None:
    """Give a resident a new PIN (also lifts a lockout)."""
    records.set_pin(runtime().uow, OPERATOR, resident_id, pin=pin, now=utcnow())
    typer.echo(f"resident {resident_id}: PIN changed")


@resident_app.command("deactivate")
def resident_deactivate(resident_id: str) -> None:
    """Stop a resident's calls (released or gone); the record and ledger stay."""
    records.deactivate_resident(runtime().uow, OPERATOR, resident_id, now=utcnow())
    typer.echo(f"resident {resident_id} deactivated")


@resident_app.command("move")
def resident_move(resident_id: str, facility: Annotated[str, typer.Option()]) -> None:
    """Move a resident to another facility; their id goes with them."""
    records.move_resident(runtime().uow, OPERATOR, resident_id, facility_id=facility,
                          now=utcnow())
    typer.echo(f"resident {resident_id} moved to {facility}")


# --- accounts and blocks


@account_app.command("show")
def account_show(resident: Annotated[str, typer.Option()], json_out: Json = False) -> None:
    """A resident's balance and ledger (newest first)."""
    view = records.show_account(runtime().uow, OPERATOR, resident)
    if json_out:
        emit(account_json(view))
        return
    typer.echo(f"balance ${view.balance_cents / 100:.2f}")
    if not view.ledger:
        typer.echo("no ledger lines")
    for line in view.ledger:
        typer.echo(f"{line.at.isoformat()}\t{line.kind}\t{line.amount_cents / 100:+.2f}\t"
                   f"{line.memo}")


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
    _more(found.more, offset, limit)


@block_app.command("remove")
def block_remove(block_id: int, reason: Annotated[str, typer.Option(
        help="Why (kept in the audit log).")]) -> None:
    """Remove a block."""
    block = records.remove_block(runtime().uow, OPERATOR, block_id, reason=reason,
                                 now=utcnow())
    typer.echo(f"block {block_id} removed ({block.number} at {block.facility_id})")
