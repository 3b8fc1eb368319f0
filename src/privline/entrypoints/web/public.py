"""Public pages: the home page, registration, its reference, and the status page.

No sign-in here, but every form still carries the session's CSRF token.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from privline.entrypoints.web.ratelimit import RegistrationLimits
from privline.entrypoints.web.render import Visit, WebRoute, error_page, page, redirect, visit
from privline.entrypoints.web.session import csrf_ok
from privline.services import portal
from privline.services.errors import InvalidInput, NotFound

router = APIRouter(route_class=WebRoute, include_in_schema=False)

NUMBER_FIELDS = 5  # inputs on the form; the service accepts up to portal.MAX_NUMBERS
_STATIC = {name: (files("privline.entrypoints.web").joinpath("static", name).read_bytes(), kind)
           for name, kind in (("privline.css", "text/css"), ("privline.svg", "image/svg+xml"),
                              ("console.css", "text/css"))}
_EXPIRED_FORM = "This form had expired. Nothing was saved: check it and send it again."

Text = Annotated[str, Form(max_length=2000)]


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in _STATIC:
        raise NotFound("no such file", code="not_found")
    body, kind = _STATIC[name]
    return Response(body, media_type=kind, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/")
def home(request: Request) -> Response:
    return page(visit(request), "home.html")


@router.get("/register")
def register_form(request: Request) -> Response:
    return _register_page(visit(request), {}, [], {}, 200)


def _register_page(v: Visit, values: dict[str, str], numbers: list[str],
                   errors: dict[str, str], status: int, banner: str = "") -> Response:
    numbers = numbers + [""] * (NUMBER_FIELDS - len(numbers))
    return page(v, "register.html", status, values=values, numbers=numbers,
                errors=errors, banner=banner, professions=portal.PROFESSIONS)


@router.post("/register")
def register_submit(
    request: Request,
    csrf_token: Text = "",
    name: Text = "",
    profession: Text = "",
    credential: Text = "",
    number: Annotated[list[str], Form(max_length=100)] = [],  # noqa: B006 - FastAPI copies it
    email: Text = "",
) -> Response:
    v = visit(request)
    values = {"name": name, "profession": profession, "credential": credential,
              "email": email}
    if not csrf_ok(v.session, csrf_token):
        return _register_page(v, values, number, {}, 403, _EXPIRED_FORM)
    limits, address, at = _limits(request), _address(request), v.runtime.clock()
    wait = limits.wait(address, v.session.sid, at)
    if wait is not None:
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        return error_page(request, 429, "Too many registrations from here in a short time. "
                          f"Nothing was saved. Please try again in {minutes} minute"
                          f"{'s' if minutes > 1 else ''}.")
    form = portal.RegistrationForm(name, profession, credential, number, email)
    try:
        registered = portal.register(v.runtime.uow, form, now=v.now)
    except InvalidInput as exc:
        return _register_page(v, values, number, dict(exc.details.get("fields", {})),
                              400, "Please correct the marked fields. Nothing was saved.")
    # Only what was stored counts: correcting a form's mistakes costs nothing.
    limits.record(address, v.session.sid, at)
    v.update(reference=registered.reference)
    return redirect(v, "/register/done")


def _limits(request: Request) -> RegistrationLimits:
    state = request.app.state
    limits: RegistrationLimits | None = getattr(state, "registration_limits", None)
    if limits is None:
        limits = state.registration_limits = RegistrationLimits()
    return limits


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/register/done")
def registered(request: Request) -> Response:
    v = visit(request)
    reference = v.session.reference
    if not reference:
        return redirect(v, "/status")
    v.update(reference="")  # shown once: the registrant keeps it, the server does not
    numbers = portal.status(v.runtime.uow, reference)
    return page(v, "registered.html", reference=reference, numbers=numbers)


@router.get("/status")
def status_form(request: Request) -> Response:
    return page(visit(request), "status.html", reference="", numbers=None, errors={},
                banner="")


@router.post("/status")
def status_lookup(request: Request, csrf_token: Text = "", reference: Text = "") -> Response:
    v = visit(request)
    if not csrf_ok(v.session, csrf_token):
        return page(v, "status.html", 403, reference=reference, numbers=None, errors={},
                    banner=_EXPIRED_FORM)
    try:
        numbers = portal.status(v.runtime.uow, reference)
    except NotFound:
        return page(v, "status.html", 404, reference=reference, numbers=None,
                    errors={"reference": "No registration has that reference. Check it "
                                         "against the one you were given."}, banner="")
    return page(v, "status.html", reference=reference.strip(), numbers=numbers, errors={},
                banner="")
