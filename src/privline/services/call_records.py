"""A switched call's life after its decision: answer, warnings, end and bill, faults,
refusals.

The switch reports each event; each report is one transaction with its audit event. The
record keeps the evidence promise 3 asks for: every warning played, with its time and
rtpengine's answer. The ``*_call`` helpers and :func:`mark_fault` work inside a caller's
transaction so :mod:`privline.services.call_events` can apply an event and note its key
in the same commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.model import Actor, CallRecord, WarningPlayed
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.accounts import bill
from privline.services.errors import Conflict, InvalidInput, NotFound
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.calls import CallRefusal

# Why a call's record closed; `calls list` shows it as end_reason.
END_REASONS = ("hangup", "max_minutes", "fault", "interrupted", "refused", "unanswered")


def _call(uow: UnitOfWork, sip_call_id: str) -> CallRecord:
    """The record as a life event needs it: without its warnings (uow.calls.life)."""
    record = uow.calls.life(sip_call_id)
    if record is None:
        raise NotFound(f"no call {sip_call_id}", code="call_not_found")
    return record


def _seconds(answered: datetime, ended: datetime) -> int:
    return max(0, int((ended - answered).total_seconds() + 0.999))


def _bill(uow: UnitOfWork, actor: Actor, record: CallRecord, answered: datetime,
          ended: datetime) -> tuple[int, int]:
    """(seconds, cents) for an answered call; billed here, once per Call-ID."""
    seconds = _seconds(answered, ended)
    cents = 0
    if seconds and record.rate_per_minute > 0 and record.sip_call_id is not None:
        cents = bill(uow, actor, resident_id=record.resident_id, call_id=record.sip_call_id,
                     seconds=seconds, rate_per_minute=record.rate_per_minute,
                     started=answered, now=ended)
    return seconds, cents


def _bill_start(record: CallRecord) -> datetime | None:
    """Billing starts at the answer, or for a voice-menu call at the called party's
    acceptance (such a call is reported answered only once accepted)."""
    return record.accepted_at or record.answered_at


def answer_call(uow: UnitOfWork, actor: Actor, sip_call_id: str, at: datetime,
                accepted_at: datetime | None = None) -> None:
    """``at`` is the SIP answer; ``accepted_at`` when the called party accepted at the
    voice menu (billing starts then)."""
    record = _call(uow, sip_call_id)
    if record.mode == "denied":
        raise Conflict("a denied call cannot be answered", code="call_denied")
    if record.answered_at is not None:
        return
    fields: dict[str, object] = {"answered_at": at}
    if accepted_at is not None:
        fields["accepted_at"] = accepted_at
    start = accepted_at or at
    reopened = False
    if record.ended_at is not None and record.end_reason == "unanswered":
        # Kamailio gave up on the far end (its INVITE timer) and then relayed the far
        # end's late 200: the call did connect. Open the record again; its BYE closes
        # and bills it.
        fields.update(ended_at=None, end_reason=None, duration_s=None, charge_cents=None)
        reopened = True
    elif record.ended_at is not None and record.charge_cents == 0 and start <= record.ended_at:
        # Events may reach the core out of order (each Kamailio worker keeps its own
        # journal): a call closed before its answer arrived is billed now, still once.
        seconds, cents = _bill(uow, actor, record, start, record.ended_at)
        fields.update(duration_s=seconds, charge_cents=cents)
    uow.calls.update(record.id, **fields)
    audit.record(uow, actor, AuditAction.CALL_ANSWER,
                 f"call:{record.id}", at, sip_call_id=sip_call_id,
                 reopened=reopened,
                 accepted_at=None if accepted_at is None else accepted_at.isoformat())


def close_call(uow: UnitOfWork, actor: Actor, sip_call_id: str, at: datetime, reason: str,
        fault: str | None = None) -> CallRecord:
    """Close the record and bill it in the caller's transaction: billed once, or not at
    all. A second end changes nothing."""
    record = _call(uow, sip_call_id)
    if record.ended_at is not None:
        return record
    seconds, cents = 0, 0
    start = _bill_start(record)
    if start is not None:
        seconds, cents = _bill(uow, actor, record, start, max(at, start))
    fields: dict[str, object] = {"ended_at": at, "duration_s": seconds, "charge_cents": cents,
                                 "end_reason": reason[:64]}
    if fault and record.fault is None:
        fields["fault"] = fault[:200]
    uow.calls.update(record.id, **fields)
    audit.record(uow, actor, AuditAction.CALL_END, f"call:{record.id}", at, sip_call_id=sip_call_id,
                 duration_s=seconds, charge_cents=cents, reason=reason[:64])
    # The closed record is what was just written: no second read (the agent closes
    # every call through here).
    return replace(record, **fields)  # type: ignore[arg-type]


def mark_fault(uow: UnitOfWork, actor: Actor, sip_call_id: str, at: datetime, what: str) -> None:
    record = _call(uow, sip_call_id)
    uow.calls.update(record.id, fault=what[:200])
    audit.record(uow, actor, AuditAction.CALL_FAULT, f"call:{record.id}", at, fault=what[:200],
                 sip_call_id=sip_call_id)


def refuse_call(uow: UnitOfWork, actor: Actor, refusal: CallRefusal, *, fault: bool = False
           ) -> None:
    """A refused call: a decided one is closed as refused (never billed); one refused
    before any decision gets a refusal record. Both with an audit event."""
    record = uow.calls.get(refusal.sip_call_id)
    if record is not None:
        if record.ended_at is None:
            fields: dict[str, object] = {"ended_at": refusal.at, "duration_s": 0,
                                         "charge_cents": 0, "end_reason": "refused"}
            if fault:
                fields["fault"] = refusal.reason
            uow.calls.update(record.id, **fields)
        target = f"call:{record.id}"
    elif uow.calls.refusal(refusal.sip_call_id) is None:
        uow.calls.add_refusal(refusal)
        target = f"refusal:{refusal.sip_call_id[:120]}"
    else:
        return
    audit.record(uow, actor, AuditAction.CALL_REFUSE, target, refusal.at,
                 sip_call_id=refusal.sip_call_id, reason=refusal.reason,
                 sip_code=refusal.sip_code, facility=refusal.facility_id,
                 resident=refusal.resident_id, fault=fault)


def call_answered(uow_factory: UnitOfWorkFactory, actor: Actor, sip_call_id: str, *,
                  at: datetime) -> None:
    check_allowed(actor, Action.CALL_RECORD)
    with uow_factory() as uow:
        answer_call(uow, actor, sip_call_id, at)
        uow.commit()


def warning_played(uow_factory: UnitOfWorkFactory, actor: Actor, sip_call_id: str, *,
                   prompt: str, at: datetime, evidence: dict[str, Any]) -> None:
    warnings_played(uow_factory, actor, sip_call_id, prompts=[prompt], at=at,
                    evidence=evidence)


def warnings_played(uow_factory: UnitOfWorkFactory, actor: Actor, sip_call_id: str, *,
                    prompts: Sequence[str], at: datetime, evidence: dict[str, Any]) -> None:
    """The prompts of one play (e.g. the rate and the recording warning, said as one
    file): each its own warning with its audit event, all in one transaction."""
    check_allowed(actor, Action.CALL_RECORD)
    with uow_factory() as uow:
        add_warnings(uow, actor, sip_call_id, prompts, at, evidence)
        uow.commit()


def add_warnings(uow: UnitOfWork, actor: Actor, sip_call_id: str, prompts: Sequence[str],
                 at: datetime, evidence: dict[str, Any]) -> None:
    """The prompts of one play, in the caller's transaction (the call agent applies a
    ``warned`` journal event here, its key claimed beside it)."""
    if not prompts or any(not p or len(p) > 48 for p in prompts):
        raise InvalidInput("prompt id must be 1 to 48 characters", code="invalid_prompt")
    record = _call(uow, sip_call_id)
    for prompt in prompts:
        uow.calls.add_warning(record.id, WarningPlayed(at, prompt, evidence))
        audit.record(uow, actor, AuditAction.CALL_WARNING, f"call:{record.id}", at,
                     prompt=prompt, sip_call_id=sip_call_id)


def call_ended(uow_factory: UnitOfWorkFactory, actor: Actor, sip_call_id: str, *,
               at: datetime, reason: str, fault: str | None = None) -> CallRecord:
    """Close the record and bill it in the same transaction: billed once, or not at all."""
    check_allowed(actor, Action.CALL_RECORD)
    with uow_factory() as uow:
        closed = close_call(uow, actor, sip_call_id, at, reason, fault)
        # close_call's record has no warnings (the agent's path skips them): read them
        # for whoever asked here.
        closed = replace(closed, warnings=uow.calls.warnings(closed.id))
        uow.commit()
    return closed


def call_fault(uow_factory: UnitOfWorkFactory, actor: Actor, sip_call_id: str, *,
               at: datetime, fault: str) -> None:
    """Log a fault, e.g. a recorded call whose recording never appeared."""
    check_allowed(actor, Action.CALL_RECORD)
    with uow_factory() as uow:
        mark_fault(uow, actor, sip_call_id, at, fault)
        uow.commit()


def call_refused(uow_factory: UnitOfWorkFactory, actor: Actor, refusal: CallRefusal, *,
                 fault: bool = False) -> None:
    """Record a refusal (see :func:`refuse_call`); a second report of it changes nothing."""
    check_allowed(actor, Action.CALL_RECORD)
    with uow_factory() as uow:
        refuse_call(uow, actor, refusal, fault=fault)
        uow.commit()


def calls_in_vault(uow_factory: UnitOfWorkFactory, actor: Actor,
                   sip_call_ids: Sequence[str]) -> set[str]:
    """Which of these calls have a recording in the vault (not destroyed)."""
    check_allowed(actor, Action.CALL_READ)
    with uow_factory() as uow:
        return uow.recordings.calls_with_recordings(sip_call_ids)


def ledger_charges(uow_factory: UnitOfWorkFactory, actor: Actor,
                   sip_call_ids: Sequence[str]) -> dict[str, int]:
    """What the ledger holds charged for each call, in cents (refunds deducted)."""
    check_allowed(actor, Action.CALL_READ)
    with uow_factory() as uow:
        return {c: -uow.accounts.charged_for(c) for c in sip_call_ids}
