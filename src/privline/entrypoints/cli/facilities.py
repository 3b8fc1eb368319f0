"""`privline facility add|list|show|set`: facilities and their settings."""

from __future__ import annotations

from typing import Annotated

import typer

from privline.bootstrap import utcnow
from privline.domain.model import Facility
from privline.domain.money import parse_rate
from privline.domain.policy import UnknownPrivilege
from privline.domain.rates import FacilityKind
from privline.entrypoints.cli.app import (
    OPERATOR,
    Json,
    app,
    emit,
    runtime,
    whole,
)
from privline.entrypoints.records_json import (
    facility_json,
)
from privline.services import facilities, records

facility_app = typer.Typer(help="Facilities.", no_args_is_help=True)
app.add_typer(facility_app, name="facility")


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
