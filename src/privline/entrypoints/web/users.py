"""The admin's users page: list, create, disable or enable, reset a password, enrol a new
second factor, revoke tokens and sessions. Each action is one audited service call; a
new TOTP secret is shown on the page that answers the form, once, never in a cookie."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from privline.domain.access import Action, Role
from privline.domain.model import Actor
from privline.entrypoints.api.deps import RowId
from privline.entrypoints.web.gate import require, require_form
from privline.entrypoints.web.render import Visit, WebRoute, page, redirect, visit
from privline.services import users
from privline.services.errors import Conflict, InvalidInput, NotFound

router = APIRouter(prefix="/staff/users", route_class=WebRoute, include_in_schema=False)

Text = Annotated[str, Form(max_length=2000)]
ROLES = (Role.STAFF, Role.INVESTIGATOR, Role.AUDITOR, Role.ADMIN)


def _page(v: Visit, actor: Actor, status: int = 200, *, errors: dict[str, str] | None = None,
          values: dict[str, Any] | None = None, shown: dict[str, Any] | None = None
          ) -> Response:
    return page(v, "users.html", status, staff=actor.name, admin=True,
                users=users.list_users(v.runtime.uow, actor),
                facilities=users.facility_choices(v.runtime.uow, actor), roles=ROLES,
                errors=errors or {}, values=values or {}, shown=shown, now=v.now)


@router.get("")
def users_page(request: Request) -> Response:
    v = visit(request)
    actor = require(v, Action.USER_READ)
    if isinstance(actor, Response):
        return actor
    return _page(v, actor)


@router.post("")
def create(request: Request, csrf_token: Text = "", name: Text = "", role: Text = "",
           password: Text = "", totp: Text = "",
           facility: Annotated[list[str] | None, Form(max_length=64)] = None) -> Response:
    checked = require_form(request, csrf_token, Action.USER_WRITE)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    values = {"name": name, "role": role, "totp": bool(totp), "facility": facility or []}
    try:
        made = users.add_user(v.runtime.uow, actor, name=name, role=role, now=v.now,
                              password=password, totp=bool(totp),
                              facilities=facility or [], token_days=None)
    except (InvalidInput, Conflict, NotFound) as exc:
        field = str(exc.details.get("field", "name"))
        field = "facility" if field == "facilities" else field  # the fieldset's id
        return _page(v, actor, exc.status, errors={field: exc.message}, values=values)
    shown = {"user": made.user, "totp": made.totp}
    return _page(v, actor, 201, shown=shown)


def _act(request: Request, csrf_token: str, user_id: RowId, action: str, password: str = ""
         ) -> Response:
    checked = require_form(request, csrf_token, Action.USER_WRITE)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    uow = v.runtime.uow
    try:
        if action == "disable":
            user = users.disable(uow, actor, user_id, now=v.now)
            return redirect(v, "/staff/users", flash=f"{user.name} is disabled; their "
                                                     "sessions have ended.")
        if action == "enable":
            user = users.enable(uow, actor, user_id, now=v.now)
            return redirect(v, "/staff/users", flash=f"{user.name} is enabled.")
        if action == "revoke":
            count = users.revoke(uow, actor, user_id, now=v.now)
            return redirect(v, "/staff/users", flash=f"Revoked {count} token(s) of user "
                                                     f"{user_id} and ended their sessions.")
        if action == "password":
            user = users.set_password(uow, actor, user_id, password=password, now=v.now)
            return redirect(v, "/staff/users", flash=f"New password set for {user.name}; "
                                                     "their sessions have ended.")
        enrolment = users.enrol_totp(uow, actor, user_id, now=v.now)
    except InvalidInput as exc:
        return _page(v, actor, 400, errors={f"password-{user_id}": exc.message})
    except (Conflict, NotFound) as exc:
        return redirect(v, "/staff/users", flash=f"Nothing done: {exc.message}.")
    view = users.get_user(uow, actor, user_id)
    return _page(v, actor, shown={"user": view.user, "totp": enrolment})


@router.post("/{user_id:int}/disable")
def disable(request: Request, user_id: RowId, csrf_token: Text = "") -> Response:
    return _act(request, csrf_token, user_id, "disable")


@router.post("/{user_id:int}/enable")
def enable(request: Request, user_id: RowId, csrf_token: Text = "") -> Response:
    return _act(request, csrf_token, user_id, "enable")


@router.post("/{user_id:int}/revoke")
def revoke(request: Request, user_id: RowId, csrf_token: Text = "") -> Response:
    return _act(request, csrf_token, user_id, "revoke")


@router.post("/{user_id:int}/password")
def reset_password(request: Request, user_id: RowId, csrf_token: Text = "", password: Text = ""
                   ) -> Response:
    return _act(request, csrf_token, user_id, "password", password)


@router.post("/{user_id:int}/totp")
def new_totp(request: Request, user_id: RowId, csrf_token: Text = "") -> Response:
    return _act(request, csrf_token, user_id, "totp")
