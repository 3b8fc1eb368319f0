"""Sub-commands: init, serve, facility, resident, account, block, registry, call."""

from __future__ import annotations

from typing import Annotated

import typer

from privline.bootstrap import utcnow
from privline.domain.model import Facility
from privline.domain.money import parse_rate, parse_usd
from privline.domain.policy import CallRequest, UnknownPrivilege
from privline.domain.rates import FacilityKind
from privline.domain.registry import Status
from privline.entrypoints.cli.app import OPERATOR, app, emit, more_line, pin_code, runtime, whole
from privline.entrypoints.demo import load_demo
from privline.entrypoints.serialize import check_json, decision_json, entry_json
from privline.services import accounts, blocks, calls, facilities, registry

facility_app = typer.Typer(help="Facilities.", no_args_is_help=True)
resident_app = typer.Typer(help="Residents.", no_args_is_help=True)
account_app = typer.Typer(help="Prepaid accounts.", no_args_is_help=True)
block_app = typer.Typer(help="Blocked numbers.", no_args_is_help=True)
registry_app = typer.Typer(help="The privileged-number registry.", no_args_is_help=True)
call_app = typer.Typer(help="Call decisions.", no_args_is_help=True)
for sub, name in ((facility_app, "facility"), (resident_app, "resident"),
                  (account_app, "account"), (block_app, "block"), (registry_app, "registry"),
                  (call_app, "call")):
    app.add_typer(sub, name=name)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


@app.command()
def init(demo: Annotated[bool, typer.Option(help="Add demo data.")] = False) -> None:
    """Create PRIVLINE_HOME and the database schema (safe to run again)."""
    rt = runtime(create=True)
    if demo:
        load_demo(rt, OPERATOR)
    typer.echo(f"privline ready in {rt.settings.home}")


@app.command()
def serve() -> None:
    """Run the HTTP API on PRIVLINE_API_HOST:PRIVLINE_API_PORT (127.0.0.1:8000)."""
    import uvicorn

    from privline.entrypoints.api.app import create_app

    rt = runtime()
    uvicorn.run(create_app(rt), host=rt.settings.api_host, port=rt.settings.api_port,
                log_level="info")


@facility_app.command("add")
def facility_add(
    id: Annotated[str, typer.Option("--id")],
    name: Annotated[str, typer.Option()],
    kind: Annotated[FacilityKind, typer.Option()],
    adp: Annotated[int, typer.Option(help="Average daily population.", parser=whole)],
    region: Annotated[str, typer.Option()] = "US",
    outside_prefix: Annotated[str | None, typer.Option()] = None,
    international_prefix: Annotated[str, typer.Option()] = "011",
    unknown_privilege: Annotated[UnknownPrivilege, typer.Option()] = UnknownPrivilege.REFUSE,
    rate: Annotated[str | None, typer.Option(help="USD per minute; default: the cap.")] = None,
    paid_private_calls: Annotated[bool, typer.Option()] = False,
    max_minutes: Annotated[int, typer.Option(parser=whole)] = 15,
    reminder_interval: Annotated[int, typer.Option(help="Seconds.", parser=whole)] = 300,
    phones: Annotated[str, typer.Option(help="CIDRs of its phones, comma-separated.")] = "",
    language: Annotated[str, typer.Option(help="The voice menu's: en or es.")] = "en",
    json_out: Json = False,
) -> None:
    """Add a facility."""
    facility = Facility(
        id=id, name=name, kind=kind, adp=adp, region=region.upper(),
        outside_prefix=outside_prefix or None, international_prefix=international_prefix,
        unknown_privilege=unknown_privilege, private_calls_free=not paid_private_calls,
        rate_per_minute=parse_rate(rate) if rate is not None else None,
        max_call_minutes=max_minutes, reminder_interval_s=reminder_interval,
        phones=tuple(p.strip() for p in phones.split(",") if p.strip()),
        language=language.lower(),
    )
    facilities.add_facility(runtime().uow, OPERATOR, facility, now=utcnow())
    if json_out:
        emit({"id": facility.id, "name": facility.name})
    else:
        typer.echo(f"facility {facility.id} added")


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


@call_app.command("decide")
def call_decide(
    facility: Annotated[str, typer.Option()],
    resident: Annotated[str, typer.Option()],
    to: Annotated[str, typer.Option(help="The number as dialled.")],
    private: Annotated[bool, typer.Option("--private", help="Ask for a private call.")] = False,
    pin: Annotated[str | None, typer.Option(parser=pin_code)] = None,
    json_out: Json = False,
) -> None:
    """Decide a call as the switch would: private, recorded or denied."""
    decision = calls.decide_call(runtime().uow, OPERATOR,
                                 CallRequest(facility, resident, to, private, pin), now=utcnow())
    if json_out:
        emit(decision_json(decision))
    else:
        typer.echo(f"{decision.mode}: {decision.reason}")
