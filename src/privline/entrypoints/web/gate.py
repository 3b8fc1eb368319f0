"""The console's one gate: who is signed in, and may they see this page.

Every console page (/staff/..., /investigate/..., /audit/...) asks :func:`require`;
every console form asks :func:`require_form`, which also checks the CSRF token. Who is
signed in is the server-side session of the one sign-in, /signin (signin.py); the old
token-paste addresses redirect there.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from privline.domain.access import PERMISSIONS, Action, allowed
from privline.domain.model import Actor
from privline.entrypoints.web import signin
from privline.entrypoints.web.render import Visit, WebRoute, error_page, page, redirect, visit
from privline.entrypoints.web.session import csrf_ok

SIGN_IN = signin.SIGNIN
EXPIRED_FORM = signin.EXPIRED_FORM
HOME = signin.HOME  # where each role lands after signing in

router = APIRouter(prefix="/console", route_class=WebRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]


def signed_in_actor(v: Visit) -> Actor | None:
    actor = signin.signed_in_actor(v)
    return actor if actor is not None and actor.role in HOME else None


def require(v: Visit, action: Action) -> Actor | Response:
    """The signed-in actor if their role may ``action``; else sign-in or a 403 page."""
    return signin.require(v, PERMISSIONS[action] & HOME.keys())


def require_form(request: Request, csrf_token: str, action: Action
                 ) -> tuple[Visit, Actor] | Response:
    v = visit(request)
    actor = require(v, action)
    if isinstance(actor, Response):
        return actor
    if not csrf_ok(v.session, csrf_token):
        return error_page(request, 403, EXPIRED_FORM)
    return v, actor


def console_page(v: Visit, actor: Actor, template: str, status: int = 200,
                 **context: object) -> Response:
    """A console page: the layout shows the nav the actor's role may use."""
    nav = {name: allowed(actor.role, act) for name, act in _NAV.items()}
    return page(v, template, status, staff=None, me=actor, nav=nav, **context)


_NAV = {"staff": Action.RESIDENT_READ, "calls": Action.CALL_READ,
        "registry": Action.REGISTRY_READ, "investigate": Action.RECORDING_READ,
        "audit": Action.AUDIT_VERIFY, "facilities": Action.FACILITY_READ,
        "users": Action.USER_READ}


# The console's sign-in before accounts; bookmarks keep working.
@router.get("/login")
def login_form(request: Request) -> Response:
    return redirect(visit(request), SIGN_IN)


@router.post("/logout")
def logout(request: Request, csrf_token: Text = "") -> Response:
    return signin.signout(request, csrf_token)
