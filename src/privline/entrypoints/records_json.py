"""JSON shapes of the records the CLI and the API list and show (stable contracts)."""

from __future__ import annotations

from typing import Any

from privline.domain.model import CallRecord
from privline.services.ports.records import BlockRow, LedgerRow, ResidentRow
from privline.services.records import AccountView, FacilityView, ResidentView


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _money(value: Any) -> str | None:
    return None if value is None else format(value, "f")


def facility_json(view: FacilityView) -> dict[str, Any]:
    f = view.facility
    return {
        "id": f.id, "name": f.name, "kind": f.kind.value, "adp": f.adp, "region": f.region,
        "outside_prefix": f.outside_prefix, "international_prefix": f.international_prefix,
        "unknown_privilege": f.unknown_privilege.value,
        "private_calls_free": f.private_calls_free,
        "rate_per_minute": _money(f.rate_per_minute),  # None: charges the cap
        "rate_in_force": _money(view.rate),
        "cap": None if view.cap is None else {
            "per_minute": _money(view.cap.per_minute), "order": view.cap.order,
            "effective_from": view.cap.effective_from.isoformat()},
        "max_call_minutes": f.max_call_minutes, "reminder_interval_s": f.reminder_interval_s,
        "phones": list(f.phones),
    }


def resident_json(row: ResidentRow, *, locked: bool) -> dict[str, Any]:
    return {"id": row.id, "facility": row.facility_id,
            "status": "active" if row.active else "inactive", "locked": locked,
            "locked_until": _iso(row.locked_until) if locked else None,
            "failed_pins": row.failed_pins, "balance_cents": row.balance_cents,
            "created_at": _iso(row.created_at)}


def call_json(c: CallRecord) -> dict[str, Any]:
    return {
        "id": c.id, "sip_call_id": c.sip_call_id, "at": _iso(c.at), "facility": c.facility_id,
        "resident": c.resident_id, "number": c.number, "mode": c.mode, "reason": c.reason,
        "rate_per_minute": _money(c.rate_per_minute), "max_minutes": c.max_minutes,
        "flagged_for_review": c.review, "answered_at": _iso(c.answered_at),
        "accepted_at": _iso(c.accepted_at),
        "ended_at": _iso(c.ended_at), "duration_s": c.duration_s,
        "charge_cents": c.charge_cents, "end_reason": c.end_reason, "fault": c.fault,
        "warnings": [{"at": _iso(w.at), "prompt": w.prompt, "evidence": w.evidence}
                     for w in c.warnings],
    }


def resident_view_json(view: ResidentView) -> dict[str, Any]:
    return resident_json(view.resident, locked=view.locked) | {
        "recent_calls": [call_json(c) for c in view.recent_calls]}


def ledger_json(line: LedgerRow) -> dict[str, Any]:
    return {"id": line.id, "kind": line.kind, "amount_cents": line.amount_cents,
            "at": _iso(line.at), "memo": line.memo, "call_id": line.call_id}


def account_json(view: AccountView) -> dict[str, Any]:
    return {"resident": view.resident_id, "balance_cents": view.balance_cents,
            "ledger": [ledger_json(line) for line in view.ledger]}


def block_json(row: BlockRow) -> dict[str, Any]:
    return {"id": row.id, "facility": row.facility_id, "resident": row.resident_id,
            "number": row.number, "reason": row.reason, "created_at": _iso(row.created_at)}
