"""Signing in and out of the operators' pages, and the one gate every such page uses.

Sign-in asks for the user name and password, then (for users with a second factor) a
TOTP code. The cookie then holds a server-side session's id; :func:`signed_in_actor`
asks the server about it on every request. Pages ask gate.py (``require`` and
``require_form``), which asks :func:`require` here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from privline.domain.access import Role
from privline.domain.model import Actor
from privline.entrypoints.web.render import Visit, WebRoute, error_page, page, redirect, visit
from privline.entrypoints.web.session import PENDING_LIFETIME, csrf_ok
from privline.services import sessions
from privline.services.errors import TooManyAttempts, Unauthenticated

router = APIRouter(route_class=WebRoute, include_in_schema=False)

Text = Annotated[str, Form(max_length=2000)]
SIGNIN = "/signin"
# Where each role lands after signing in. The switch is a machine: it has no console.
HOME = {Role.ADMIN: "/staff/dashboard", Role.STAFF: "/staff/dashboard",
        Role.INVESTIGATOR: "/investigate", Role.AUDITOR: "/audit"}
EXPIRED_FORM = "This form had expired, so nothing was done. Reload the page and try again."
_NOT_YOURS = "Your role cannot use this page."


def _limits(v: Visit) -> sessions.Limits:
    s = v.runtime.settings
    return sessions.Limits(idle=timedelta(minutes=s.session_idle_minutes),
                           lifetime=timedelta(hours=s.session_lifetime_hours))


def address(v: Visit) -> str:
    client = v.request.client
    return client.host[:64] if client else "unknown"


def signed_in_actor(v: Visit) -> Actor | None:
    """Who this visit's server-side session signs in, or None (and the dead session id
    is dropped from the cookie)."""
    session_id = v.session.signin
    if not session_id:
        return None
    actor = sessions.resume(v.runtime.uow, session_id, now=v.now, limits=_limits(v))
    if actor is None:
        v.update(signin=None)
    return actor


def require(v: Visit, roles: frozenset[Role]) -> Actor | Response:
    """A page's gate: signed in, with one of ``roles``; else the sign-in page or 403."""
    actor = signed_in_actor(v)
    if actor is None:
        return redirect(v, SIGNIN, flash="Please sign in.")
    if actor.role not in roles:
        return error_page(v.request, 403, _NOT_YOURS)
    return actor


def _form(v: Visit, status: int = 200, *, step: str = "password", name: str = "",
          errors: dict[str, str] | None = None, banner: str = "") -> Response:
    return page(v, "signin.html", status, step=step, name=name, errors=errors or {},
                banner=banner)


@router.get(SIGNIN)
def signin_form(request: Request) -> Response:
    v = visit(request)
    actor = signed_in_actor(v)
    if actor is not None:
        return redirect(v, HOME.get(actor.role, "/"))
    return _form(v)


@router.post(SIGNIN)
def signin(request: Request, csrf_token: Text = "", name: Text = "", password: Text = ""
           ) -> Response:
    v = visit(request)
    if not csrf_ok(v.session, csrf_token):
        return _form(v, 403, banner=EXPIRED_FORM)
    errors = {}
    if not name.strip():
        errors["name"] = "Enter your user name"
    if not password:
        errors["password"] = "Enter your password"  # noqa: S105 - a message, no secret
    if errors:
        return _form(v, 400, name=name, errors=errors)
    try:
        checked = sessions.check_password(v.runtime.uow, name=name, password=password,
                                          address=address(v), now=v.now)
    except TooManyAttempts as exc:
        return _form(v, 429, name=name, banner=exc.message)
    except Unauthenticated as exc:
        return _form(v, 401, name=name, errors={"password": exc.message})
    if checked.needs_code:
        v.rotate(pending=checked.user_id, pending_until=v.epoch + PENDING_LIFETIME)
        return redirect(v, SIGNIN + "/code")
    return _start(v, checked, "")


@router.get(SIGNIN + "/code")
def code_form(request: Request) -> Response:
    v = visit(request)
    if v.session.pending_user(v.epoch) is None:
        return redirect(v, SIGNIN)
    return _form(v, step="code")


@router.post(SIGNIN + "/code")
def code(request: Request, csrf_token: Text = "", code: Text = "") -> Response:
    v = visit(request)
    user_id = v.session.pending_user(v.epoch)
    if user_id is None:
        return redirect(v, SIGNIN, flash="That took too long. Please sign in again.")
    if not csrf_ok(v.session, csrf_token):
        return _form(v, 403, step="code", banner=EXPIRED_FORM)
    if not code.strip():
        return _form(v, 400, step="code", errors={"code": "Enter the 6-digit code"})
    return _start(v, sessions.PasswordChecked(user_id, needs_code=True), code)


def _start(v: Visit, checked: sessions.PasswordChecked, code: str) -> Response:
    try:
        signed = sessions.finish_signin(v.runtime.uow, checked=checked, code=code,
                                        address=address(v), now=v.now)
    except TooManyAttempts as exc:
        v.rotate()
        return _form(v, 429, banner=exc.message)
    except Unauthenticated as exc:
        if not checked.needs_code:
            return _form(v, 401, errors={"password": exc.message})
        return _form(v, 401, step="code", errors={"code": exc.message})
    # A new cookie (id and CSRF token) on every sign-in: no fixation.
    v.rotate(signin=signed.session_id)
    return redirect(v, HOME.get(signed.actor.role, "/"))


@router.post("/signout")
def signout(request: Request, csrf_token: Text = "") -> Response:
    v = visit(request)
    if not csrf_ok(v.session, csrf_token):
        return error_page(request, 403, EXPIRED_FORM)
    if v.session.signin:
        sessions.sign_out(v.runtime.uow, v.session.signin, now=v.now)
    v.rotate()
    return redirect(v, SIGNIN, flash="You have signed out.")


# The addresses the staff pages had before accounts; bookmarks keep working.
@router.get("/staff/login")
def old_login(request: Request) -> Response:
    return redirect(visit(request), SIGNIN)


@router.post("/staff/logout")
def old_logout(request: Request, csrf_token: Text = "") -> Response:
    return signout(request, csrf_token)
