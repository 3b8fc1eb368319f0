"""A switched call's life after its decision: answer, warnings, end and bill, faults.

The switch reports each event; each report is one transaction with its audit event. The
record keeps the evidence promise 3 asks for: every warning played, with its time and
rtpengine's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from privline.domain.access import Action
from privline.domain.model import Actor, CallRecord, WarningPlayed
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.accounts import bill
from privline.services.errors import Conflict, InvalidInput, NotFound
from privline.services.ports import UnitOfWork, UnitOfWorkFactory


def _call(uow: UnitOfWork, sip_call_id: str) -> CallRecord:
    record = uow.calls.get(sip_call_id)
    if record is None:
        raise NotFound(f"no call {sip_call_id}", code="call_not_found")
    return record


def call_answered(uow_factory: UnitOfWorkFactory, actor: Actor, sip_call_id: str, *,
                  at: datetime) -> None:
    check_allowed(actor, Action.CALL_RECORD)
    with uow_factory() as uow:
        record = _call(uow, sip_call_id)
        if record.mode == "denied":
            raise Conflict("a denied call cannot be answered", code="call_denied")
        if record.answered_at is None:
            uow.calls.update(record.id, answered_at=at)
            audit.record(uow, actor, "call.answer", f"call:{record.id}", at,
                         sip_call_id=sip_call_id)
            uow.commit()


def warning_played(uow_factory: UnitOfWorkFactory, actor: Actor, sip_call_id: str, *,
                   prompt: str, at: datetime, evidence: dict[str, Any]) -> None:
    check_allowed(actor, Action.CALL_RECORD)
    if not prompt or len(prompt) > 48:
        raise InvalidInput("prompt id must be 1 to 48 characters", code="invalid_prompt")
    with uow_factory() as uow:
        record = _call(uow, sip_call_id)
        uow.calls.add_warning(record.id, WarningPlayed(at, prompt, evidence))
        audit.record(uow, actor, "call.warning", f"call:{record.id}", at, prompt=prompt,
                     sip_call_id=sip_call_id)
        uow.commit()


def call_ended(uow_factory: UnitOfWorkFactory, actor: Actor, sip_call_id: str, *,
               at: datetime, reason: str) -> CallRecord:
    """Close the record and bill it in the same transaction: billed once, or not at all."""
    check_allowed(actor, Action.CALL_RECORD)
    with uow_factory() as uow:
        record = _call(uow, sip_call_id)
        if record.ended_at is not None:
            return record
        seconds = 0
        if record.answered_at is not None:
            seconds = max(0, int((at - record.answered_at).total_seconds() + 0.999))
        cents = 0
        if seconds and record.rate_per_minute > 0:
            cents = bill(uow, actor, resident_id=record.resident_id, call_id=sip_call_id,
                         seconds=seconds, rate_per_minute=record.rate_per_minute,
                         started=record.answered_at or record.at, now=at)
        uow.calls.update(record.id, ended_at=at, duration_s=seconds, charge_cents=cents,
                         end_reason=reason[:64])
        audit.record(uow, actor, "call.end", f"call:{record.id}", at, sip_call_id=sip_call_id,
                     duration_s=seconds, charge_cents=cents, reason=reason[:64])
        closed = _call(uow, sip_call_id)
        uow.commit()
    return closed


def call_fault(uow_factory: UnitOfWorkFactory, actor: Actor, sip_call_id: str, *,
               at: datetime, fault: str) -> None:
    """Log a fault, e.g. a recorded call whose recording never appeared."""
    check_allowed(actor, Action.CALL_RECORD)
    with uow_factory() as uow:
        record = _call(uow, sip_call_id)
        uow.calls.update(record.id, fault=fault[:200])
        audit.record(uow, actor, "call.fault", f"call:{record.id}", at, fault=fault[:200],
                     sip_call_id=sip_call_id)
        uow.commit()


def list_calls(uow_factory: UnitOfWorkFactory, actor: Actor, *, limit: int = 100,
               offset: int = 0, facility_id: str | None = None) -> Sequence[CallRecord]:
    check_allowed(actor, Action.CALL_READ)
    if not (1 <= limit <= 10000 and offset >= 0):
        raise InvalidInput("limit must be 1..10000 and offset >= 0", code="invalid_page")
    with uow_factory() as uow:
        return uow.calls.list(limit, offset, facility_id)


def calls_in_vault(uow_factory: UnitOfWorkFactory, actor: Actor,
                   sip_call_ids: Sequence[str]) -> set[str]:
    """Which of these calls have a recording in the vault (not destroyed)."""
    check_allowed(actor, Action.CALL_READ)
    with uow_factory() as uow:
        return uow.recordings.calls_with_recordings(sip_call_ids)
