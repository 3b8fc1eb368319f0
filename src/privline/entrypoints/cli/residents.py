"""`privline resident add|list|show|unlock|set-pin|deactivate|move` and `account
deposit|show`: residents, their PINs and their prepaid accounts."""

from __future__ import annotations

from typing import Annotated

import typer

from privline.bootstrap import utcnow
from privline.domain.money import parse_usd
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
    account_json,
    resident_json,
    resident_view_json,
)
from privline.services import accounts, facilities, records

resident_app = typer.Typer(help="Residents.", no_args_is_help=True)
account_app = typer.Typer(help="Prepaid accounts.", no_args_is_help=True)
app.add_typer(resident_app, name="resident")
app.add_typer(account_app, name="account")


@resident_app.command("add")
def resident_add(
    facility: Annotated[str, typer.Option()],
    id: Annotated[str, typer.Option("--id")],
    pin: Annotated[str, typer.Option()],
    balance: Annotated[str, typer.Option(help="Opening balance in USD.")] = "0",
    language: Annotated[str | None, typer.Option(
        help="The voice menu's (en or es); default: the facility's.")] = None,
    json_out: Json = False,
) -> None:
    """Add a resident with a PIN and an opening balance."""
    cents = parse_usd(balance)
    facilities.add_resident(runtime().uow, OPERATOR, facility_id=facility, resident_id=id,
                            pin=pin, opening_balance_cents=cents,
                            language=language.lower() if language else None, now=utcnow())
    if json_out:
        emit({"id": id, "facility": facility, "balance_cents": cents})
    else:
        typer.echo(f"resident {id} added")


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
    more_at_offset(found.more, offset, limit)


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


@account_app.command("deposit")
def account_deposit(
    resident: Annotated[str, typer.Option()],
    amount: Annotated[str, typer.Option(help="USD.")],
    json_out: Json = False,
) -> None:
    """Add money to a resident's prepaid account (no fee, ever)."""
    balance = accounts.deposit(runtime().uow, OPERATOR, resident_id=resident,
                               amount_cents=parse_usd(amount), now=utcnow())
    if json_out:
        emit({"resident": resident, "balance_cents": balance})
    else:
        typer.echo(f"balance ${balance / 100:.2f}")


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
