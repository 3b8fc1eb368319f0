"""What API routes depend on: the runtime and the authenticated actor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from privline.bootstrap import Runtime
from privline.domain.model import Actor
from privline.services import users
from privline.services.errors import Unauthenticated

_bearer = HTTPBearer(auto_error=False)


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("a bearer token is required")
    rt = runtime(request)
    return users.authenticate(rt.uow, credentials.credentials, now=rt.clock())


ActorDep = Annotated[Actor, Depends(current_actor)]
RuntimeDep = Annotated[Runtime, Depends(runtime)]
