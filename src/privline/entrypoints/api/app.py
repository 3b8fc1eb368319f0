"""The application factory, authentication and the one place errors become responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from privline.adapters.vault.exceptions import VaultError
from privline.bootstrap import Runtime
from privline.domain.errors import DomainError
from privline.entrypoints.api import recordings, routes, users
from privline.entrypoints.api.deps import error_body
from privline.entrypoints.web import routes as web
from privline.services.errors import ServiceError


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(
        title="privline",
        version="1",
        description="Prison calling that cannot record a privileged call.",
    )
    app.state.runtime = rt

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

    @app.exception_handler(VaultError)
    async def vault_error(_: Request, exc: VaultError) -> JSONResponse:
        # Keys missing or unreadable, a blob gone: say so without detail, never audio.
        return JSONResponse(error_body("vault_unavailable", exc.message), status_code=503)

    @app.exception_handler(DBAPIError)
    async def db_error(_: Request, exc: DBAPIError) -> JSONResponse:
        return JSONResponse(error_body("db_unavailable", "the database cannot be reached"),
                            status_code=503)

    app.include_router(routes.router)
    app.include_router(recordings.router)
    app.include_router(users.router)
    app.include_router(web.router)  # the portal's pages: entrypoints/web
    return app
