"""Routes under /api/v1 and the health check. Each route calls one service function."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from privline.bootstrap import utcnow
from privline.domain.policy import CallRequest
from privline.domain.registry import Status
from privline.entrypoints.api.deps import ActorDep, Limit, Offset, RowId, RuntimeDep, errors
from privline.entrypoints.serialize import check_json, decision_json, entry_json
from privline.services import calls, registry

router = APIRouter()
_CHANGE = errors(400, 403, 404, 409)


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


class NewEntryBody(BaseModel):
    number: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    name: str = Field(max_length=200)
    credential: str = Field(max_length=200)
    verified: bool = False


class TransitionBody(BaseModel):
    reason: str = Field(default="", max_length=500)


class DecisionBody(BaseModel):
    facility: str = Field(max_length=64)
    resident: str = Field(max_length=64)
    to: str = Field(max_length=64)
    private: bool = False
    # ASCII digits only, as a keypad sends them (pydantic's [0-9] is ASCII).
    pin: str | None = Field(default=None, pattern=r"^[0-9]{4,12}$")


@router.get("/api/v1/registry", tags=["registry"], responses=errors(400, 403))
def list_registry(
    rt: RuntimeDep,
    actor: ActorDep,
    status: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    entries = registry.list_entries(rt.uow, actor, status=status, limit=limit, offset=offset)
    return {"entries": [entry_json(e) for e in entries]}


@router.post("/api/v1/registry", tags=["registry"], status_code=201,
             responses=errors(400, 403, 409))
def add_registry_entry(body: NewEntryBody, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    entry = registry.add_entry(rt.uow, actor, number=body.number, kind=body.kind,
                               holder=body.name, credential=body.credential,
                               verified=body.verified, now=utcnow())
    return entry_json(entry)


@router.get("/api/v1/registry/check", tags=["registry"], responses=errors(400, 403))
def check_number(number: str, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return check_json(registry.check(rt.uow, actor, number, now=utcnow()))


def _transition(entry_id: int, target: Status, body: TransitionBody, rt: RuntimeDep,
                actor: ActorDep) -> dict[str, Any]:
    entry = registry.change_status(rt.uow, actor, entry_id, target, now=utcnow(),
                                   note=body.reason)
    return entry_json(entry)


@router.post("/api/v1/registry/{entry_id}/verify", tags=["registry"], responses=_CHANGE)
def verify_entry(entry_id: RowId, body: TransitionBody, rt: RuntimeDep, actor: ActorDep
                 ) -> dict[str, Any]:
    return _transition(entry_id, Status.VERIFIED, body, rt, actor)


@router.post("/api/v1/registry/{entry_id}/revoke", tags=["registry"], responses=_CHANGE)
def revoke_entry(entry_id: RowId, body: TransitionBody, rt: RuntimeDep, actor: ActorDep
                 ) -> dict[str, Any]:
    return _transition(entry_id, Status.REVOKED, body, rt, actor)


@router.post("/api/v1/registry/{entry_id}/expire", tags=["registry"], responses=_CHANGE)
def expire_entry(entry_id: RowId, body: TransitionBody, rt: RuntimeDep, actor: ActorDep
                 ) -> dict[str, Any]:
    return _transition(entry_id, Status.EXPIRED, body, rt, actor)


@router.post("/api/v1/decisions", tags=["calls"], responses=errors(400, 403, 404))
def decide(body: DecisionBody, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    request = CallRequest(body.facility, body.resident, body.to, body.private, body.pin)
    return decision_json(calls.decide_call(rt.uow, actor, request, now=utcnow()))
