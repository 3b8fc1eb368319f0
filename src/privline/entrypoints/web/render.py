"""Pages, redirects, the session cookie, security headers and HTML error pages.

Every web route uses :class:`WebRoute`, so every response it gives (pages, redirects,
the stylesheet, errors) carries the same security headers, and a service error becomes
an HTML page, never the API's JSON or a stack trace.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.exceptions import HTTPException

from privline.bootstrap import Runtime, utcnow
from privline.domain.registry import Kind, Source, Status
from privline.entrypoints.web.session import COOKIE, Session, SessionCodec, new_session
from privline.services.errors import ServiceError

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    # Nothing loads from anywhere but this server; no inline script or style at all.
    "Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

KIND_LABELS = {
    Kind.ATTORNEY: "Attorney",
    Kind.PHYSICIAN: "Physician",
    Kind.MENTAL_HEALTH: "Mental health professional",
    Kind.RELIGIOUS_ADVISER: "Religious adviser",
    Kind.LEGAL_ADVOCATE: "Legal advocate",
    Kind.UNSPECIFIED: "Not given",
}
STATUS_LABELS = {
    Status.PENDING: "Waiting for review",
    Status.VERIFIED: "Verified: calls to this number are private",
    Status.REVOKED: "Not accepted",
    Status.EXPIRED: "Expired: register again to renew",
}
SOURCE_LABELS = {
    Source.SELF_REGISTERED: "Portal",
    Source.RESIDENT_REQUEST: "Resident's request",
    Source.STAFF: "Staff",
    Source.IMPORT: "Directory import",
}


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _day(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d")


_env = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters.update(when=_when, day=_day, kind=KIND_LABELS.__getitem__,
                    status=STATUS_LABELS.__getitem__, source=SOURCE_LABELS.__getitem__)
_env.globals.update(KIND_LABELS=KIND_LABELS)

_codec_lock = threading.Lock()


def _codec(request: Request) -> SessionCodec:
    state = request.app.state
    codec: SessionCodec | None = getattr(state, "web_session_codec", None)
    if codec is None:
        with _codec_lock:
            codec = getattr(state, "web_session_codec", None)
            if codec is None:
                rt: Runtime = state.runtime
                secret = rt.web_secret
                if secret is None:
                    # No key file (a home made before the portal): sessions then last as
                    # long as this process. `privline init` writes the file.
                    log.warning("no web session secret file; using a per-process secret")
                    secret = secrets.token_bytes(32)
                codec = SessionCodec(secret)
                state.web_session_codec = codec
    return codec


@dataclass
class Visit:
    """One request's view of its session; responses made from it carry the cookie."""

    request: Request
    session: Session
    now: datetime
    changed: bool

    @property
    def runtime(self) -> Runtime:
        rt: Runtime = self.request.app.state.runtime
        return rt

    @property
    def epoch(self) -> int:
        return int(self.now.timestamp())

    def update(self, **changes: object) -> None:
        self.session = self.session.replace(**changes)
        self.changed = True

    def rotate(self, **changes: object) -> None:
        """A new session id and CSRF token: on every sign-in and sign-out."""
        self.session = new_session(self.epoch).replace(**changes)
        self.changed = True


def visit(request: Request) -> Visit:
    now = utcnow()
    session = _codec(request).decode(request.cookies.get(COOKIE), int(now.timestamp()))
    if session is None:
        return Visit(request, new_session(int(now.timestamp())), now, True)
    return Visit(request, session, now, False)


def _finish(v: Visit, response: Response) -> Response:
    if v.changed:
        response.set_cookie(
            COOKIE, _codec(v.request).encode(v.session),
            max_age=max(0, v.session.expires - v.epoch), path="/", httponly=True,
            samesite="strict", secure=v.request.url.scheme == "https")
    return response


def page(v: Visit, template: str, status: int = 200, *, staff: str | None = None,
         **context: Any) -> Response:
    flash = v.session.flash
    if flash:
        v.update(flash="")
    html = _env.get_template(template).render(
        csrf_token=v.session.csrf, flash=flash, staff=staff, path=v.request.url.path,
        **context)
    return _finish(v, HTMLResponse(html, status_code=status,
                                   headers={"Cache-Control": "no-store"}))


def redirect(v: Visit, url: str, *, flash: str = "") -> Response:
    if flash:
        v.update(flash=flash)
    return _finish(v, RedirectResponse(url, status_code=303))


def error_page(request: Request, status: int, message: str) -> Response:
    try:
        v = visit(request)
    except Exception:  # an error page must render whatever broke
        v = Visit(request, new_session(0), utcnow(), False)
    v.changed = False  # an error page never starts or changes a session
    return page(v, "error.html", status, message=message, status_code=status)


class WebRoute(APIRoute):
    """A route whose every response carries the security headers; errors become pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except RequestValidationError:
                response = error_page(request, 400, "The form could not be read.")
            except HTTPException as exc:  # a body past the size cap, a form with too
                # many fields (Starlette's limit is 1000): the sender's fault, not ours
                response = error_page(request, exc.status_code,
                                      "The request is too large." if exc.status_code == 413
                                      else "The form could not be read.")
            except ServiceError as exc:
                message = exc.message if exc.status < 500 else \
                    "The service is unavailable just now. Please try again shortly."
                response = error_page(request, exc.status, message)
            except Exception:
                log.exception("web page failed: %s %s", request.method, request.url.path)
                response = error_page(request, 500, "Something went wrong on our side. "
                                                    "Please try again.")
            response.headers.update(SECURITY_HEADERS)
            return response

        return guarded
