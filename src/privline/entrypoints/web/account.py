"""/account/password: anyone signed in to the console changes their own password.

The current password is asked again; every other session of theirs ends, this one goes
on (services/sessions.py). An admin still sets anyone's password on the users page or
with `privline user set-password`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from privline.domain.access import Action
from privline.domain.model import Actor
from privline.entrypoints.web.gate import SIGN_IN, console_page, require, require_form
from privline.entrypoints.web.render import Visit, WebRoute, redirect, visit
from privline.entrypoints.web.signin import address
from privline.services import sessions
from privline.services.errors import InvalidInput, TooManyAttempts, Unauthenticated

router = APIRouter(prefix="/account", route_class=WebRoute, include_in_schema=False)
Secret = Annotated[str, Form(max_length=256)]
PATH = "/account/password"


def _form(v: Visit, actor: Actor, status: int = 200, errors: dict[str, str] | None = None,
          banner: str = "") -> Response:
    return console_page(v, actor, "console/password.html", status, errors=errors or {},
                        banner=banner)


@router.get("/password")
def password_page(request: Request) -> Response:
    v = visit(request)
    actor = require(v, Action.OWN_ACCOUNT)
    if isinstance(actor, Response):
        return actor
    return _form(v, actor)


@router.post("/password")
def change_password(request: Request, csrf_token: Secret = "", current_password: Secret = "",
                    new_password: Secret = "") -> Response:
    checked = require_form(request, csrf_token, Action.OWN_ACCOUNT)
    if isinstance(checked, Response):
        return checked
    v, actor = checked
    if not current_password:
        return _form(v, actor, 400, {"current_password": "Enter your current password"})
    try:
        ended = sessions.change_own_password(
            v.runtime.uow, actor, v.session.signin or "", current=current_password,
            new=new_password, address=address(v), now=v.now)
    except InvalidInput as exc:
        fields = exc.details.get("fields")
        return _form(v, actor, 400, dict(fields) if isinstance(fields, dict) else
                     {"new_password": exc.message})
    except TooManyAttempts as exc:
        return _form(v, actor, 429, banner=exc.message)
    except Unauthenticated:
        return redirect(v, SIGN_IN, flash="Please sign in again.")
    others = f" {ended} other session{'s' if ended != 1 else ''} signed out." if ended else ""
    return redirect(v, PATH, flash=f"Your password is changed.{others}")
