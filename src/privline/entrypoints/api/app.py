"""The application factory, authentication and the one place errors become responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from privline.bootstrap import Runtime
from privline.domain.errors import DomainError
from privline.entrypoints.api import docs, recordings, routes, users
from privline.entrypoints.api import records as record_routes
from privline.entrypoints.api.deps import error_body
from privline.entrypoints.api.limits import BearerFirst, BodyLimit
from privline.entrypoints.web import routes as web
from privline.services.errors import ServiceError

_HTTP_CODES = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed",
               413: "body_too_large"}


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(
        title="privline",
        version="1",
        description="Prison calling that cannot record a privileged call.",
        docs_url=None,  # entrypoints/api/docs.py serves /docs from the package
        redoc_url=None,
    )
    app.state.runtime = rt
    app.add_middleware(BearerFirst)
    app.add_middleware(BodyLimit)  # outermost: nothing past the cap reaches anyone

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's and FastAPI's own refusals (no such route, a body that cannot be
        # read, a method not allowed) in the same {"error": ...} form as ours.
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=exc.headers)

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.code, exc.message, **exc.details),
                            status_code=exc.status, headers=headers)

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=400)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in exc.errors()]
        return JSONResponse(error_body("invalid_request", "; ".join(fields)), status_code=422)

    app.include_router(docs.router)
    app.include_router(routes.router)
    app.include_router(recordings.router)
    app.include_router(record_routes.router)  # lists, shows and auditors' reads
    app.include_router(users.router)
    app.include_router(web.router)  # the portal's pages: entrypoints/web
    return app
