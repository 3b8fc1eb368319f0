"""JSON shapes shared by the CLI and the API (both are stable contracts)."""

from __future__ import annotations

from typing import Any

from privline.domain.policy import Decision
from privline.domain.registry import Entry
from privline.services.registry import CheckResult


def decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "mode": decision.mode.value,
        "reason": decision.reason.value,
        "announcements": [p.value for p in decision.announcements],
        "rate_per_minute": format(decision.rate_per_minute, "f"),
        "max_minutes": decision.max_minutes,
        "number": decision.number,
        "flagged_for_review": decision.review,
        "registration_requested": decision.register_request,
    }


def entry_json(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "number": entry.number,
        "kind": entry.kind.value,
        "holder": entry.holder,
        "credential": entry.credential,
        "source": entry.source.value,
        "status": entry.status.value,
        "valid_from": entry.valid_from.isoformat(),
        "valid_until": entry.valid_until.isoformat() if entry.valid_until else None,
        "created_at": entry.created_at.isoformat(),
        "review": entry.review,  # why a directory import sent it to staff, if it did
    }


def check_json(result: CheckResult) -> dict[str, Any]:
    return {
        "number": result.number,
        "privileged": result.privileged,
        "entries": [entry_json(e) for e in result.entries],
    }
