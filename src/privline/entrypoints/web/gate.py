"""The console's one gate: who is signed in, and may they see this page.

Every console page (/staff/..., /investigate/..., /audit/...) asks :func:`require`;
every console form asks :func:`require_form`, which also checks the CSRF token. The
session is today's signed cookie holding a token's digest (session.py); when sign-in
moves to named accounts and server-side sessions, :func:`signed_in_actor` is the one
function to switch.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from privline.domain.access import Action, Role, allowed
from privline.domain.model import Actor
from privline.entrypoints.web.render import Visit, WebRoute, error_page, page, redirect, visit
from privline.entrypoints.web.session import STAFF_LIFETIME, csrf_ok
from privline.services import users
from privline.services.errors import Unauthenticated

SIGN_IN = "/console/login"
EXPIRED_FORM = "This form had expired, so nothing was done. Reload the page and try again."
# Where each role lands after signing in. The switch is a machine: it has no console.
HOME = {Role.ADMIN: "/staff/dashboard", Role.STAFF: "/staff/dashboard",
        Role.INVESTIGATOR: "/investigate", Role.AUDITOR: "/audit"}
_REFUSED = "That token cannot sign in here."

router = APIRouter(prefix="/console", route_class=WebRoute, include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]


def signed_in_actor(v: Visit) -> Actor | None:
    digest = v.session.signed_in(v.epoch)
    if digest is None:
        return None
    try:
        actor = users.authenticate_digest(v.runtime.uow, digest)
    except Unauthenticated:
        return None
    return actor if actor.role in HOME else None


def require(v: Visit, action: Action) -> Actor | Response:
    """The signed-in actor if their role may ``action``; else sign-in or a 403 page."""
    actor = signed_in_actor(v)
    if actor is None:
        if v.session.staff:
            v.update(staff=None, staff_until=0)
        return redirect(v, SIGN_IN, flash="Please sign in.")
    if not allowed(actor.role, action):
        return error_page(v.request, 403, "Your role cannot open this page.")
    return actor


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
        "audit": Action.AUDIT_VERIFY, "facilities": Action.FACILITY_READ}


@router.get("/login")
def login_form(request: Request) -> Response:
    v = visit(request)
    actor = signed_in_actor(v)
    if actor is not None:
        return redirect(v, HOME[actor.role])
    return page(v, "console/login.html", errors={})


@router.post("/login")
def login(request: Request, csrf_token: Text = "", token: Text = "") -> Response:
    v = visit(request)
    if not csrf_ok(v.session, csrf_token):
        return page(v, "console/login.html", 403, errors={"token": EXPIRED_FORM})
    token = token.strip()
    if not token:
        return page(v, "console/login.html", 400, errors={"token": "Paste your token"})
    try:
        actor: Actor | None = users.authenticate(v.runtime.uow, token)
    except Unauthenticated:
        actor = None
    if actor is None or actor.role not in HOME:
        return page(v, "console/login.html", 401, errors={"token": _REFUSED})
    v.rotate(staff=users.token_digest(token), staff_until=v.epoch + STAFF_LIFETIME)
    return redirect(v, HOME[actor.role])


@router.post("/logout")
def logout(request: Request, csrf_token: Text = "") -> Response:
    v = visit(request)
    if not csrf_ok(v.session, csrf_token):
        return error_page(request, 403, EXPIRED_FORM)
    v.rotate()
    return redirect(v, SIGN_IN, flash="You have signed out.")
