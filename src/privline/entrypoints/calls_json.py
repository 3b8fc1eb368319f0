"""The call log's JSON, one shape for `privline calls list --json`, GET /api/v1/calls
(``{"calls": [...], "more": bool, "next": cursor or null}``) and GET /api/v1/calls/{id}
(one call). The keys of each call are a contract (the e2e tests and outside tools read
them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from privline.adapters.switch.recordings import pcap_files
from privline.bootstrap import Runtime
from privline.domain.model import Actor, CallRecord
from privline.services.call_log import CallLogPage
from privline.services.call_records import calls_in_vault, ledger_charges
from privline.services.ports.calls import CallRefusal


def call_state(record: CallRecord) -> str:
    if record.mode == "denied" or record.end_reason == "refused":
        return "refused"
    if record.ended_at is not None:
        return "ended"
    return "in_progress" if record.answered_at is not None else "decided"


def call_json(record: CallRecord, spool: Path, in_vault: bool, ledger_cents: int
              ) -> dict[str, Any]:
    """One call as `calls list --json` prints it; ``recording`` is true when the vault
    holds a recording of it or rtpengine's spool still does; ``ledger_cents`` is what
    the ledger holds charged for it."""
    call_id = record.sip_call_id or f"decision:{record.id}"
    end_reason = record.end_reason
    if record.mode == "denied" and end_reason is None:
        end_reason = "refused"  # a denial is its own end
    return {
        "call_id": call_id, "id": record.id, "state": call_state(record),
        "facility": record.facility_id, "resident": record.resident_id,
        "to": record.number, "mode": record.mode,
        "reason": record.reason, "review": record.review, "max_minutes": record.max_minutes,
        "decided_at": record.at.isoformat(),
        "answered_at": record.answered_at.isoformat() if record.answered_at else None,
        "accepted_at": record.accepted_at.isoformat() if record.accepted_at else None,
        "ended_at": record.ended_at.isoformat() if record.ended_at else None,
        "duration_s": record.duration_s, "rate_per_minute": str(record.rate_per_minute),
        "charge_cents": record.charge_cents, "ledger_cents": ledger_cents,
        "charge": None if record.charge_cents is None else f"{record.charge_cents / 100:.2f}",
        "recording": in_vault or bool(record.sip_call_id
                                      and pcap_files(spool, record.sip_call_id)),
        "warnings": [{"at": w.at.isoformat(), "prompt": w.prompt, "evidence": w.evidence}
                     for w in record.warnings],
        "fault": record.fault, "end_reason": end_reason,
    }


def refusal_json(r: CallRefusal, spool: Path) -> dict[str, Any]:
    """A call refused before any decision, in the same shape."""
    return {
        "call_id": r.sip_call_id, "id": None, "state": "refused", "facility": r.facility_id,
        "resident": r.resident_id, "to": None, "dialled": r.dialled, "mode": "refused",
        "reason": r.reason, "sip_code": r.sip_code, "review": False, "max_minutes": 0,
        "decided_at": None, "refused_at": r.at.isoformat(), "answered_at": None,
        "accepted_at": None,
        "ended_at": r.at.isoformat(), "duration_s": 0, "rate_per_minute": "0",
        "charge_cents": 0, "ledger_cents": 0, "charge": "0.00",
        "recording": bool(pcap_files(spool, r.sip_call_id)), "warnings": [],
        "fault": None, "end_reason": "refused",
    }


def one_call_json(rt: Runtime, actor: Actor, record: CallRecord) -> dict[str, Any]:
    """One decision as the log shows it, with its recording and ledger facts."""
    ids = [record.sip_call_id] if record.sip_call_id else []
    vaulted = calls_in_vault(rt.uow, actor, ids)
    ledger = ledger_charges(rt.uow, actor, ids)
    sip = record.sip_call_id or ""
    return call_json(record, rt.settings.recording_spool, sip in vaulted, ledger.get(sip, 0))


def call_log_json(rt: Runtime, actor: Actor, page: CallLogPage) -> dict[str, Any]:
    """A page of the log with, for each decision, whether a recording exists and what
    the ledger charged."""
    spool = rt.settings.recording_spool
    ids = [r.record.sip_call_id for r in page.items
           if r.record is not None and r.record.sip_call_id]
    vaulted = calls_in_vault(rt.uow, actor, ids)
    ledger = ledger_charges(rt.uow, actor, ids)
    calls = []
    for row in page.items:
        if row.record is not None:
            sip = row.record.sip_call_id or ""
            calls.append(call_json(row.record, spool, sip in vaulted, ledger.get(sip, 0)))
        elif row.refusal is not None:
            calls.append(refusal_json(row.refusal, spool))
    return {"calls": calls, "more": page.more, "next": page.next}
