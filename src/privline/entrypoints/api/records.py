"""/api/v1 routes to list, show and change records, and what auditors read.

The same services and JSON shapes as `privline facility|resident|account|block ...`.
Each route is one service call; the service checks the role against domain/access.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from privline.adapters.signing import verifies
from privline.bootstrap import utcnow
from privline.domain.audit_chain import Checkpoint, checkpoint_message
from privline.domain.money import parse_usd
from privline.domain.text import MAX_ROW_ID
from privline.entrypoints.api.deps import ActorDep, RowId, RuntimeDep, errors
from privline.entrypoints.calls_json import call_log_json, one_call_json
from privline.entrypoints.records_json import (
    account_json,
    block_json,
    facility_json,
    resident_json,
    resident_view_json,
)
from privline.entrypoints.serialize import entry_json
from privline.services import (
    accounts,
    audit,
    blocks,
    call_log,
    console,
    records,
    vault_lifecycle,
)
from privline.services.errors import Unavailable, checked
from privline.services.ports.records import AuditRecord

# Every operation here may answer these errors too (documented in the OpenAPI spec).
router = APIRouter(prefix="/api/v1", responses=errors(400, 403, 404, 409))
Limit = Query(100, ge=1, le=1000)
Offset = Query(0, ge=0, le=MAX_ROW_ID)


class FacilityBody(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    adp: int | None = Field(default=None, ge=0)
    rate: str | None = Field(default=None, max_length=16,
                             description="USD per minute, or 'cap' to charge the cap")
    max_minutes: int | None = None
    reminder_interval_s: int | None = None
    phones: list[str] | None = Field(default=None, max_length=100)
    unknown_privilege: str | None = Field(default=None, max_length=32)


class PinBody(BaseModel):
    pin: str = Field(max_length=12)


class MoveBody(BaseModel):
    facility: str = Field(max_length=64)


class DepositBody(BaseModel):
    amount: str = Field(max_length=16, description="USD, e.g. 12.50")


class BlockBody(BaseModel):
    facility: str = Field(max_length=64)
    number: str = Field(max_length=64)
    reason: str = Field(max_length=200)
    resident: str | None = Field(default=None, max_length=64)


class ReasonBody(BaseModel):
    reason: str = Field(max_length=200)


# --- facilities


@router.get("/facilities", tags=["facilities"])
def list_facilities(rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    views = records.list_facilities(rt.uow, actor, now=utcnow())
    return {"facilities": [facility_json(v) for v in views]}


@router.get("/facilities/{facility_id}", tags=["facilities"])
def show_facility(facility_id: str, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return facility_json(records.show_facility(rt.uow, actor, facility_id, now=utcnow()))


@router.post("/facilities/{facility_id}", tags=["facilities"])
def set_facility(facility_id: str, body: FacilityBody, rt: RuntimeDep, actor: ActorDep
                 ) -> dict[str, Any]:
    rate = None
    if body.rate is not None and body.rate != "cap":
        rate = records.parse_rate(body.rate)
    changes = records.FacilityChanges(
        name=body.name, adp=body.adp, rate=rate, rate_to_cap=body.rate == "cap",
        max_minutes=body.max_minutes, reminder_interval_s=body.reminder_interval_s,
        phones=None if body.phones is None else tuple(body.phones),
        unknown_privilege=body.unknown_privilege)
    return facility_json(records.set_facility(rt.uow, actor, facility_id, changes,
                                              now=utcnow()))


# --- residents and accounts


@router.get("/residents", tags=["residents"])
def list_residents(rt: RuntimeDep, actor: ActorDep, facility: str | None = None,
                   search: str | None = Query(None, max_length=64), limit: int = Limit,
                   offset: int = Offset) -> dict[str, Any]:
    now = utcnow()
    found = records.list_residents(rt.uow, actor, facility_id=facility, query=search,
                                   limit=limit, offset=offset)
    return {"residents": [resident_json(r, locked=r.locked_until is not None and
                                        now < r.locked_until) for r in found.items],
            "more": found.more}


@router.get("/residents/{resident_id}", tags=["residents"])
def show_resident(resident_id: str, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return resident_view_json(records.show_resident(rt.uow, actor, resident_id, now=utcnow()))


@router.post("/residents/{resident_id}/unlock", tags=["residents"])
def unlock(resident_id: str, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    records.unlock_resident(rt.uow, actor, resident_id, now=utcnow())
    return show_resident(resident_id, rt, actor)


@router.post("/residents/{resident_id}/pin", tags=["residents"])
def set_pin(resident_id: str, body: PinBody, rt: RuntimeDep, actor: ActorDep
            ) -> dict[str, Any]:
    records.set_pin(rt.uow, actor, resident_id, pin=body.pin, now=utcnow())
    return {"resident": resident_id, "pin_changed": True}


@router.post("/residents/{resident_id}/deactivate", tags=["residents"])
def deactivate(resident_id: str, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    records.deactivate_resident(rt.uow, actor, resident_id, now=utcnow())
    return show_resident(resident_id, rt, actor)


@router.post("/residents/{resident_id}/move", tags=["residents"])
def move(resident_id: str, body: MoveBody, rt: RuntimeDep, actor: ActorDep
         ) -> dict[str, Any]:
    records.move_resident(rt.uow, actor, resident_id, facility_id=body.facility, now=utcnow())
    return show_resident(resident_id, rt, actor)


@router.get("/residents/{resident_id}/account", tags=["accounts"])
def show_account(resident_id: str, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return account_json(records.show_account(rt.uow, actor, resident_id))


@router.post("/residents/{resident_id}/deposits", tags=["accounts"])
def deposit(resident_id: str, body: DepositBody, rt: RuntimeDep, actor: ActorDep
            ) -> dict[str, Any]:
    balance = accounts.deposit(rt.uow, actor, resident_id=resident_id,
                               amount_cents=checked(parse_usd, body.amount), now=utcnow())
    return {"resident": resident_id, "balance_cents": balance}


# --- blocks


@router.get("/blocks", tags=["blocks"])
def list_blocks(rt: RuntimeDep, actor: ActorDep, facility: str | None = None,
                limit: int = Limit, offset: int = Offset) -> dict[str, Any]:
    found = records.list_blocks(rt.uow, actor, facility_id=facility, limit=limit,
                                offset=offset)
    return {"blocks": [block_json(b) for b in found.items], "more": found.more}


@router.post("/blocks", tags=["blocks"], status_code=201)
def add_block(body: BlockBody, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    added = blocks.block_number(rt.uow, actor, facility_id=body.facility, number=body.number,
                                reason=body.reason, resident_id=body.resident, now=utcnow())
    return {"id": added.id, "number": added.number, "warning": added.warning}


@router.post("/blocks/{block_id}/remove", tags=["blocks"])
def remove_block(block_id: RowId, body: ReasonBody, rt: RuntimeDep, actor: ActorDep
                 ) -> dict[str, Any]:
    return block_json(records.remove_block(rt.uow, actor, block_id, reason=body.reason,
                                           now=utcnow()))


# --- calls and the registry's history


@router.get("/calls", tags=["calls"])
def list_calls(
    rt: RuntimeDep, actor: ActorDep,
    facility: str = Query("", max_length=64), resident: str = Query("", max_length=64),
    number: str = Query("", max_length=64, description="Calls to this number, any format"),
    mode: str = Query("", max_length=16,
                      description="private, recorded, denied, or refused (before any decision)"),
    since: str = Query("", max_length=40, description="ISO date-time with its zone"),
    until: str = Query("", max_length=40, description="ISO date-time with its zone"),
    limit: int = Limit,
    before: str | None = Query(None, max_length=24,
                               description="The previous page's `next`: go on after it"),
) -> dict[str, Any]:
    """Every decision and every refusal before one, newest first, as `privline calls
    list --json` prints them. A bad filter is 400 ``invalid_search`` naming the field; a
    date-time without a zone is one."""
    where = call_log.parse_call_filter(facility=facility, resident=resident, number=number,
                                       mode=mode, since=since, until=until)
    return call_log_json(rt, actor, call_log.search(rt.uow, actor, where, limit=limit,
                                                     before=before))


@router.get("/calls/{call_id}", tags=["calls"])
def show_call(call_id: RowId, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    """One decision (by the ``id`` the log lists), in the shape GET /calls lists it."""
    return one_call_json(rt, actor, console.show_call(rt.uow, actor, call_id))


@router.get("/registry/changes", tags=["registry"])
def registry_changes(rt: RuntimeDep, actor: ActorDep, limit: int = Limit,
                     offset: int = Offset) -> dict[str, Any]:
    found = console.registry_changes(rt.uow, actor, limit=limit, offset=offset)
    return {"changes": [_event(e) for e in found.items], "more": found.more}


@router.get("/registry/{entry_id}/history", tags=["registry"])
def entry_history(entry_id: RowId, rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    h = console.entry_history(rt.uow, actor, entry_id)
    return {"entry": entry_json(h.entry), "same_number": [entry_json(e) for e in h.others],
            "events": [_event(e) for e in h.events]}


def _event(e: AuditRecord) -> dict[str, Any]:
    return {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action,
            "subject": e.subject, "details": dict(e.details)}


# --- what auditors read


@router.get("/audit/verify", tags=["audit"])
def audit_verify(rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    signer = rt.signer
    if signer is None:
        raise Unavailable("no signing key to check checkpoints with", code="no_signing_key")

    def ok(cp: Checkpoint) -> bool:
        return verifies(signer.public, checkpoint_message(cp.seq, cp.hash), cp.signature)

    return audit.verify(rt.uow, actor, ok).as_json()


@router.get("/audit/checkpoints", tags=["audit"])
def audit_checkpoints(rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return {"checkpoints": [{"seq": c.seq, "hash": c.hash, "key_id": c.key_id,
                             "signature": c.signature.hex(), "at": c.at.isoformat()}
                            for c in console.checkpoints(rt.uow, actor)]}


@router.get("/incidents", tags=["audit"])
def incidents(rt: RuntimeDep, actor: ActorDep, open_only: bool = False, limit: int = Limit,
              offset: int = Offset) -> dict[str, Any]:
    found = vault_lifecycle.list_incidents(rt.uow, actor, open_only=open_only, limit=limit,
                                           offset=offset)
    return {"incidents": [{"id": i.id, "kind": i.kind.value, "facility": i.facility_id,
                           "number": i.number, "recordings": i.recordings,
                           "opened_at": i.opened_at.isoformat(),
                           "closed_at": i.closed_at.isoformat() if i.closed_at else None}
                          for i in found]}


@router.get("/statements", tags=["audit"])
def list_statements(rt: RuntimeDep, actor: ActorDep) -> dict[str, Any]:
    return {"statements": [{"id": s.id, "period": s.period, "issued_at": s.issued_at.isoformat(),
                            "sha256": s.sha256, "all_facilities": s.all_facilities}
                           for s in console.statements(rt.uow, actor)]}


@router.get("/statements/{statement_id}/statement.json", tags=["audit"],
            response_class=Response)
def statement_body(statement_id: RowId, rt: RuntimeDep, actor: ActorDep) -> Response:
    kept = console.statement(rt.uow, actor, statement_id)
    return Response(kept.body, media_type="application/json")


@router.get("/statements/{statement_id}/statement.sig", tags=["audit"],
            response_class=Response)
def statement_signature(statement_id: RowId, rt: RuntimeDep, actor: ActorDep) -> Response:
    kept = console.statement(rt.uow, actor, statement_id)
    return Response(kept.signature, media_type="application/octet-stream")
