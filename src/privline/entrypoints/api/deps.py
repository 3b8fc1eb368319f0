"""What API routes depend on: the runtime and the authenticated actor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from privline.bootstrap import Runtime
from privline.domain.model import Actor
from privline.domain.text import MAX_ROW_ID
from privline.services import users
from privline.services.errors import Unauthenticated

_bearer = HTTPBearer(auto_error=False)


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(BaseModel):
    error: ErrorDetail


_MEANING = {400: "Bad input (a value, a body that cannot be read); nothing was written.",
            401: "No token, or an unknown one.",
            403: "The token's role may not do this.",
            404: "No such thing, or not visible to this token.",
            409: "The change contradicts the current state.",
            413: "The request body is larger than the limit.",
            422: "The request does not match this operation's parameters or body.",
            503: "A backing store (database, vault) cannot be reached; retry later."}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers an operation documents, for ``responses=``: always 401, 413 and
    422 (every /api/ request is authenticated, size-limited and validated) and 503."""
    wanted = sorted({401, 413, 422, 503, *statuses})
    return {s: {"model": ErrorBody, "description": _MEANING[s]} for s in wanted}


# Row ids and offsets as the database can hold them: past 2**63-1 is bad input, not a
# database overflow.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_ROW_ID)]


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    known: Actor | None = getattr(request.state, "actor", None)
    if known is not None:  # limits.BearerFirst authenticated it before the body was read
        return known
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("a bearer token is required")
    rt = runtime(request)
    return users.authenticate(rt.uow, credentials.credentials, now=rt.clock())


ActorDep = Annotated[Actor, Depends(current_actor)]
RuntimeDep = Annotated[Runtime, Depends(runtime)]
