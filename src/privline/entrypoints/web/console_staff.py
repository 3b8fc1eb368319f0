"""The staff and admin console at /staff/...: dashboard, facilities, residents, blocks,
the registry and calls. (/staff itself, the review queue, is the portal's: staff.py.)

Each page asks the gate for the action the permissions table names; each form is one
service call, and a refused form comes back with an error summary linking its fields.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response

from privline.domain.access import Action, allowed
from privline.domain.model import Actor
from privline.domain.money import parse_usd
from privline.domain.registry import Status
from privline.entrypoints.web.gate import console_page, require, require_form
from privline.entrypoints.web.render import Visit, WebRoute, redirect, visit
from privline.services import accounts, call_log, console, records, registry
from privline.services.errors import Conflict, InvalidInput, NotFound, checked

router = APIRouter(prefix="/staff", route_class=WebRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]
PAGE = 50


def _offset(raw: str) -> int:
    return min(int(raw), 10**9) if raw.isdigit() and len(raw) < 12 else 0


def _fields(exc: InvalidInput | Conflict | NotFound, field: str) -> dict[str, str]:
    named = exc.details.get("fields")
    return dict(named) if isinstance(named, dict) and named else {field: exc.message}


@router.get("/dashboard")
def dashboard(request: Request) -> Response:
    v = visit(request)
    actor = require(v, Action.RESIDENT_READ)
    if isinstance(actor, Response):
        return actor
    board = console.dashboard(v.runtime.uow, actor, now=v.now)
    return console_page(v, actor, "console/dashboard.html", board=board)


# --- facilities


@router.get("/facilities")
def facilities_page(request: Request) -> Response:
    v = visit(request)
    actor = require(v, Action.FACILITY_READ)
    if isinstance(actor, Response):
        return actor
    return _facilities(v, actor, {}, "", 200)


def _facilities(v: Visit, actor: Actor, errors: dict[str, str], failed: str, status: int
                ) -> Response:
    views = records.list_facilities(v.runtime.uow, actor, now=v.now)
    return console_page(v, actor, "console/facilities.html", status, views=views,
                        errors=errors, failed=failed,
                        can_write=allowed(actor.role, Action.FACILITY_WRITE))


@router.post("/facilities/{facility_id}")
def facility_set(request: Request, facility_id: str, csrf_token: Text = "", rate: Text = "",
                 max_minutes: Text = "", phones: Text = "", unknown_privilege: Text = ""
                 ) -> Response:
    checked = require_form(request, csrf_token, Action.FACILITY_WRITE)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    try:
        changes = records.FacilityChanges(
            rate=records.parse_rate(rate) if rate.strip() and rate.strip() != "cap" else None,
            rate_to_cap=rate.strip() == "cap",
            max_minutes=_int_field(max_minutes, "max_minutes"),
            phones=tuple(p.strip() for p in phones.split(",") if p.strip()),
            unknown_privilege=unknown_privilege or None)
        records.set_facility(v.runtime.uow, actor, facility_id, changes, now=v.now)
    except InvalidInput as exc:
        field = {"invalid_rate": "rate", "rate_above_cap": "rate",
                 "invalid_limits": "max_minutes", "invalid_phones": "phones"}.get(exc.code,
                                                                                "rate")
        errors = {f"{facility_id}-{k}": m for k, m in _fields(exc, field).items()}
        return _facilities(v, actor, errors, facility_id, 400)
    return redirect(v, "/staff/facilities", flash=f"Facility {facility_id} updated.")


def _int_field(raw: str, name: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 6:
        raise InvalidInput("a whole number of minutes", code="invalid_limits",
                           fields={name: "Enter a whole number of minutes"})
    return int(raw)


# --- residents


@router.get("/residents")
def residents_page(request: Request, q: str = "", facility: str = "", offset: str = "0"
                   ) -> Response:
    v = visit(request)
    actor = require(v, Action.RESIDENT_READ)
    if isinstance(actor, Response):
        return actor
    q, facility = q.strip()[:64], facility.strip()[:64]
    found = records.list_residents(v.runtime.uow, actor, facility_id=facility or None,
                                   query=q or None, limit=PAGE, offset=_offset(offset))
    views = records.list_facilities(v.runtime.uow, actor, now=v.now)
    return console_page(v, actor, "console/residents.html", found=found, q=q,
                        facility=facility, facilities=[f.facility for f in views], now=v.now)


@router.get("/residents/{resident_id}")
def resident_page(request: Request, resident_id: str) -> Response:
    v = visit(request)
    actor = require(v, Action.RESIDENT_READ)
    if isinstance(actor, Response):
        return actor
    return _resident(v, actor, resident_id, {}, 200)


def _resident(v: Visit, actor: Actor, resident_id: str, errors: dict[str, str], status: int
              ) -> Response:
    view = records.show_resident(v.runtime.uow, actor, resident_id, now=v.now)
    account = records.show_account(v.runtime.uow, actor, resident_id)
    views = records.list_facilities(v.runtime.uow, actor, now=v.now)
    return console_page(v, actor, "console/resident.html", status, view=view, account=account,
                        facilities=[f.facility for f in views], errors=errors)


def _resident_action(request: Request, resident_id: str, csrf_token: str, action: Action,
                     field: str, run: Callable[[Visit, Actor], object], done: str
                     ) -> Response:
    checked = require_form(request, csrf_token, action)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    try:
        run(v, actor)
    except (InvalidInput, Conflict) as exc:
        return _resident(v, actor, resident_id, _fields(exc, field), 400)
    return redirect(v, f"/staff/residents/{resident_id}", flash=done)


@router.post("/residents/{resident_id}/unlock")
def resident_unlock(request: Request, resident_id: str, csrf_token: Text = "") -> Response:
    return _resident_action(
        request, resident_id, csrf_token, Action.RESIDENT_WRITE, "unlock",
        lambda v, a: records.unlock_resident(v.runtime.uow, a, resident_id, now=v.now),
        f"Resident {resident_id} unlocked.")


@router.post("/residents/{resident_id}/pin")
def resident_pin(request: Request, resident_id: str, csrf_token: Text = "", pin: Text = ""
                 ) -> Response:
    return _resident_action(
        request, resident_id, csrf_token, Action.RESIDENT_WRITE, "pin",
        lambda v, a: records.set_pin(v.runtime.uow, a, resident_id, pin=pin.strip(),
                                     now=v.now),
        f"Resident {resident_id} has a new PIN.")


@router.post("/residents/{resident_id}/deposit")
def resident_deposit(request: Request, resident_id: str, csrf_token: Text = "",
                     amount: Text = "") -> Response:
    return _resident_action(
        request, resident_id, csrf_token, Action.ACCOUNT_WRITE, "amount",
        lambda v, a: accounts.deposit(v.runtime.uow, a, resident_id=resident_id,
                                      amount_cents=checked(parse_usd, amount), now=v.now),
        f"Deposit of ${amount.strip().lstrip('$')} made for {resident_id}.")


@router.post("/residents/{resident_id}/deactivate")
def resident_deactivate(request: Request, resident_id: str, csrf_token: Text = "") -> Response:
    return _resident_action(
        request, resident_id, csrf_token, Action.RESIDENT_WRITE, "deactivate",
        lambda v, a: records.deactivate_resident(v.runtime.uow, a, resident_id, now=v.now),
        f"Resident {resident_id} deactivated.")


@router.post("/residents/{resident_id}/move")
def resident_move(request: Request, resident_id: str, csrf_token: Text = "",
                  facility: Text = "") -> Response:
    return _resident_action(
        request, resident_id, csrf_token, Action.RESIDENT_WRITE, "facility",
        lambda v, a: records.move_resident(v.runtime.uow, a, resident_id,
                                           facility_id=facility, now=v.now),
        f"Resident {resident_id} moved to {facility}.")


# --- blocks


@router.get("/blocks")
def blocks_page(request: Request, facility: str = "", offset: str = "0") -> Response:
    v = visit(request)
    actor = require(v, Action.RESIDENT_READ)
    if isinstance(actor, Response):
        return actor
    return _blocks(v, actor, facility.strip()[:64], _offset(offset), {}, 200)


def _blocks(v: Visit, actor: Actor, facility: str, offset: int, errors: dict[str, str],
            status: int) -> Response:
    found = records.list_blocks(v.runtime.uow, actor, facility_id=facility or None,
                                limit=PAGE, offset=offset)
    return console_page(v, actor, "console/blocks.html", status, found=found,
                        facility=facility, errors=errors)


@router.post("/blocks/{block_id}/remove")
def block_remove(request: Request, block_id: int, csrf_token: Text = "", reason: Text = ""
                 ) -> Response:
    checked = require_form(request, csrf_token, Action.RESIDENT_WRITE)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    try:
        block = records.remove_block(v.runtime.uow, actor, block_id, reason=reason, now=v.now)
    except InvalidInput as exc:
        return _blocks(v, actor, "", 0, {f"reason-{block_id}": exc.message}, 400)
    return redirect(v, "/staff/blocks", flash=f"Block on {block.number} removed.")


# --- the registry


@router.get("/registry")
def registry_page(request: Request, q: str = "", offset: str = "0") -> Response:
    v = visit(request)
    actor = require(v, Action.REGISTRY_READ)
    if isinstance(actor, Response):
        return actor
    q = q.strip()[:200]
    found = console.search_registry(v.runtime.uow, actor, q, limit=PAGE, offset=_offset(offset))
    # Competing registrations for one number are shown together.
    groups: dict[str, list[object]] = {}
    for entry in found.items:
        groups.setdefault(entry.number, []).append(entry)
    return console_page(v, actor, "console/registry.html", found=found, groups=groups, q=q)


@router.get("/registry/{entry_id}")
def entry_page(request: Request, entry_id: int) -> Response:
    v = visit(request)
    actor = require(v, Action.REGISTRY_READ)
    if isinstance(actor, Response):
        return actor
    return _entry(v, actor, entry_id, {}, 200)


def _entry(v: Visit, actor: Actor, entry_id: int, errors: dict[str, str], status: int
           ) -> Response:
    history = console.entry_history(v.runtime.uow, actor, entry_id)
    return console_page(v, actor, "console/entry.html", status, h=history, errors=errors,
                        can_write=allowed(actor.role, Action.REGISTRY_WRITE))


@router.post("/registry/{entry_id}/{verb}")
def entry_change(request: Request, entry_id: int, verb: str, csrf_token: Text = "",
                 reason: Text = "") -> Response:
    targets = {"revoke": Status.REVOKED, "expire": Status.EXPIRED}
    checked = require_form(request, csrf_token, Action.REGISTRY_WRITE)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    if verb not in targets:
        raise NotFound("no such change", code="not_found")
    reason = reason.strip()
    if not reason or len(reason) > 500:
        return _entry(v, actor, entry_id, {"reason": "Say why (up to 500 characters)"}, 400)
    try:
        entry = registry.change_status(v.runtime.uow, actor, entry_id, targets[verb],
                                       now=v.now, note=reason)
    except Conflict as exc:
        return _entry(v, actor, entry_id, {"reason": exc.message}, 409)
    return redirect(v, f"/staff/registry/{entry_id}",
                    flash=f"Entry {entry_id} ({entry.number}) is now {entry.status}.")


# --- calls


@router.get("/calls")
def calls_page(request: Request, facility: str = "", resident: str = "", number: str = "",
               mode: str = "", since: str = "", until: str = "", before: str = ""
               ) -> Response:
    v = visit(request)
    actor = require(v, Action.CALL_READ)
    if isinstance(actor, Response):
        return actor
    form = {"facility": facility[:64], "resident": resident[:64], "number": number[:64],
            "mode": mode[:16], "since": since[:40], "until": until[:40]}
    errors: dict[str, str] = {}
    try:
        # The form's days are UTC days (its labels say so).
        where = call_log.parse_call_filter(**form, day_zone=UTC)
        found = call_log.search(v.runtime.uow, actor, where, limit=PAGE,
                                before=before[:24] or None)
    except InvalidInput as exc:
        errors = _fields(exc, "number")
        found = call_log.search(v.runtime.uow, actor, call_log.parse_call_filter(), limit=PAGE)
    query = urlencode({k: val for k, val in form.items() if val})
    return console_page(v, actor, "console/calls.html", 400 if errors else 200, found=found,
                        form=form, errors=errors, modes=call_log.MODES, paged=bool(before),
                        base=f"/staff/calls?{query}&" if query else "/staff/calls?")


@router.get("/calls/{call_id}")
def call_page(request: Request, call_id: int) -> Response:
    v = visit(request)
    actor = require(v, Action.CALL_READ)
    if isinstance(actor, Response):
        return actor
    call = console.show_call(v.runtime.uow, actor, call_id)
    return console_page(v, actor, "console/call.html", call=call)
