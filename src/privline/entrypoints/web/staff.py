"""The staff area: review the queue, confirm expiries, review what a directory dropped.

Only roles that may change the registry (staff, admin) get in; everyone signs in at
/signin (signin.py), and gate.py is the one gate. Each action is one service call, which
writes its audit event under the signed-in user's name.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from privline.domain.access import Action, Role
from privline.domain.model import Actor
from privline.domain.registry import Entry, Status
from privline.entrypoints.api.deps import RowId
from privline.entrypoints.web.gate import require, require_form
from privline.entrypoints.web.render import Visit, WebRoute, page, redirect, visit
from privline.services import portal, portal_review, registry
from privline.services.errors import Conflict, InvalidInput, NotFound

router = APIRouter(prefix="/staff", route_class=WebRoute, include_in_schema=False)

Text = Annotated[str, Form(max_length=2000)]
PAGE_SIZE = 50


def _signed_in(v: Visit) -> Actor | Response:
    return require(v, Action.REGISTRY_WRITE)  # the console's one gate (gate.py)


def _staff_form(request: Request, csrf_token: str) -> tuple[Visit, Actor] | Response:
    """Every staff form's gate: signed in as staff or admin, and the CSRF token matches."""
    return require_form(request, csrf_token, Action.REGISTRY_WRITE)


@router.get("")
def queue(request: Request, offset: str = "0") -> Response:
    v = visit(request)
    actor = _signed_in(v)
    if isinstance(actor, Response):
        return actor
    return _queue_page(v, actor, _int(offset, 0, 10**9), {}, 200)


def _queue_page(v: Visit, actor: Actor, offset: int, row_errors: dict[int, dict[str, str]],
                status: int) -> Response:
    found = portal_review.review_queue(v.runtime.uow, actor, limit=PAGE_SIZE, offset=offset)
    return page(v, "queue.html", status, staff=actor.name,
                admin=actor.role is Role.ADMIN, items=found.items,
                more=found.more, offset=offset, page_size=PAGE_SIZE, row_errors=row_errors,
                professions=portal.PROFESSIONS)


@router.post("/entries/{entry_id:int}/approve")
def approve(request: Request, entry_id: RowId, csrf_token: Text = "", kind: Text = "",
            note: Text = "") -> Response:
    checked = _staff_form(request, csrf_token)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    try:
        entry = portal_review.approve(v.runtime.uow, actor, entry_id, kind=kind, note=note,
                                      now=v.now)
    except InvalidInput as exc:
        return _queue_page(v, actor, 0, {entry_id: dict(exc.details.get("fields", {}))}, 400)
    except (Conflict, NotFound) as exc:
        return redirect(v, "/staff", flash=_stale(entry_id, exc))
    return redirect(v, "/staff", flash=f"Approved {entry.number} ({entry.holder}): calls to "
                                      "it are private from now on.")


@router.post("/entries/{entry_id:int}/reject")
def reject(request: Request, entry_id: RowId, csrf_token: Text = "", reason: Text = ""
           ) -> Response:
    checked = _staff_form(request, csrf_token)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    try:
        entry = portal_review.reject(v.runtime.uow, actor, entry_id, reason=reason, now=v.now)
    except InvalidInput as exc:
        return _queue_page(v, actor, 0, {entry_id: dict(exc.details.get("fields", {}))}, 400)
    except (Conflict, NotFound) as exc:
        return redirect(v, "/staff", flash=_stale(entry_id, exc))
    return redirect(v, "/staff", flash=f"Rejected {entry.number} ({entry.holder}).")


@router.get("/expiring")
def expiring(request: Request, days: str = "60") -> Response:
    v = visit(request)
    actor = _signed_in(v)
    if isinstance(actor, Response):
        return actor
    return _expiring_page(v, actor, _int(days, 60, 366), {}, 200)


def _expiring_page(v: Visit, actor: Actor, days: int, row_errors: dict[int, dict[str, str]],
                   status: int) -> Response:
    days = min(max(days, 1), 366)
    items = portal_review.expiring(v.runtime.uow, actor, within=timedelta(days=days), now=v.now)
    return page(v, "expiring.html", status, staff=actor.name,
                admin=actor.role is Role.ADMIN, items=items, days=days,
                now=v.now, row_errors=row_errors)


@router.post("/entries/{entry_id:int}/expire")
def confirm_expiry(request: Request, entry_id: RowId, csrf_token: Text = "", note: Text = ""
                   ) -> Response:
    checked = _staff_form(request, csrf_token)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    try:
        entry = portal_review.confirm_expiry(v.runtime.uow, actor, entry_id, note=note, now=v.now)
    except InvalidInput as exc:
        return _expiring_page(v, actor, 60, {entry_id: dict(exc.details.get("fields", {}))},
                              400)
    except (Conflict, NotFound) as exc:
        return redirect(v, "/staff/expiring", flash=_stale(entry_id, exc))
    return redirect(v, "/staff/expiring", flash=f"Expiry confirmed for {entry.number}: it is "
                                                "no longer protected.")


@router.get("/directory")
def directory(request: Request) -> Response:
    v = visit(request)
    actor = _signed_in(v)
    if isinstance(actor, Response):
        return actor
    return _directory_page(v, actor, {}, 200)


def _directory_page(v: Visit, actor: Actor, row_errors: dict[int, dict[str, str]],
                    status: int) -> Response:
    items = registry.in_review(v.runtime.uow, actor, limit=PAGE_SIZE)
    return page(v, "directory.html", status, staff=actor.name,
                admin=actor.role is Role.ADMIN, items=items,
                row_errors=row_errors)


@router.post("/entries/{entry_id:int}/keep")
def keep(request: Request, entry_id: int, csrf_token: Text = "", reason: Text = ""
         ) -> Response:
    checked = _staff_form(request, csrf_token)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    if not reason.strip():
        return _directory_page(v, actor, {entry_id: {"keep": "Give a reason"}}, 400)
    try:
        entry = registry.keep_after_review(v.runtime.uow, actor, entry_id, reason=reason,
                                           now=v.now)
    except InvalidInput as exc:
        return _directory_page(v, actor, {entry_id: {"keep": exc.message}}, 400)
    except (Conflict, NotFound) as exc:
        return redirect(v, "/staff/directory", flash=_stale(entry_id, exc))
    return redirect(v, "/staff/directory", flash=f"{entry.number} stays protected.")


@router.post("/entries/{entry_id:int}/revoke")
def revoke_dropped(request: Request, entry_id: int, csrf_token: Text = "",
                   reason: Text = "") -> Response:
    checked = _staff_form(request, csrf_token)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    if not reason.strip():
        return _directory_page(v, actor, {entry_id: {"revoke": "Give a reason"}}, 400)

    def still_in_review(entry: Entry) -> None:
        if entry.review is None or entry.status is not Status.VERIFIED:
            raise Conflict(f"entry {entry_id} was reviewed already", code="already_reviewed")

    try:
        entry = registry.change_status(v.runtime.uow, actor, entry_id, Status.REVOKED,
                                       now=v.now, note=reason, guard=still_in_review)
    except InvalidInput as exc:
        return _directory_page(v, actor, {entry_id: {"revoke": exc.message}}, 400)
    except (Conflict, NotFound) as exc:
        return redirect(v, "/staff/directory", flash=_stale(entry_id, exc))
    return redirect(v, "/staff/directory", flash=f"Revoked {entry.number}: it is no longer "
                                                 "protected.")


def _stale(entry_id: int, exc: Conflict | NotFound) -> str:
    if isinstance(exc, NotFound):
        return f"Entry {entry_id} does not exist."
    return f"Nothing done: {exc.message}."


def _int(raw: str, default: int, ceiling: int) -> int:
    return min(int(raw), ceiling) if raw.isascii() and raw.isdigit() and len(raw) < 12 \
        else default
