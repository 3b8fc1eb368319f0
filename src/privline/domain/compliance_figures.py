"""A statement's figures, folded from the aggregates a report reads.

The rows come from :mod:`compliance_rows`; the functions here fold them into the
statement's figures, per facility and in total, with no I/O and no clock; the words are
in :mod:`compliance_wording`.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from privline.domain.audit_events import AuditAction
from privline.domain.compliance import FORMAT, TITLE, Period, checks, iso
from privline.domain.compliance_rows import (
    MODES,
    AuditAtIssue,
    CallGroup,
    DestructionGroup,
    DisclosureRow,
    HoldGroup,
    IncidentGroup,
    Inputs,
    LedgerGroup,
    PrivilegedRecordedCall,
    WarningGroup,
    registry_instants,
)
from privline.domain.compliance_wording import NOTES, SIGNING_NOTE, summary
from privline.domain.errors import NoRateCap
from privline.domain.model import Facility
from privline.domain.rates import RateCap, cap_in_force
from privline.domain.registry import Status
from privline.domain.registry_history import AuditRow, created_kinds
from privline.domain.vault import BasisType, IncidentKind

# --- per-scope figures ------------------------------------------------------------------


def figures(inp: Inputs, facility: Facility | None) -> dict[str, Any]:
    """The figures of one facility, or in total (``facility`` None)."""
    wanted = {f.id for f in inp.facilities} if facility is None else {facility.id}
    include_none = facility is None and inp.all_facilities

    def mine(facility_id: str | None) -> bool:
        return facility_id in wanted if facility_id is not None else include_none

    calls = [g for g in inp.calls if mine(g.facility_id)]
    return {
        "calls": _calls(calls, inp.period),
        "private_requests": _modes_of(g for g in calls if g.private_requested),
        "privileged": _privileged(calls, [c for c in inp.privileged_recorded
                                          if mine(c.facility_id)], inp.period),
        "warnings": _warnings(calls, [w for w in inp.warnings if mine(w.facility_id)]),
        "rates": _rates(inp, calls, [x for x in inp.ledger if mine(x.facility_id)], facility),
        "vault": _vault([i for i in inp.incidents if mine(i.facility_id)],
                        [d for d in inp.destructions if mine(d.facility_id)],
                        [h for h in inp.holds if mine(h.facility_id)]),
        "recording_access": _access([a for a in inp.access
                                     if mine(_str_or_none(a.details.get("facility")))]),
        "disclosures": _disclosures([d for d in inp.disclosures if mine(d.facility_id)]),
        "location_requests": inp.location_requests,
    }


def _modes_of(groups: Iterable[CallGroup]) -> dict[str, int]:
    counts = Counter({m: 0 for m in MODES})
    for g in groups:
        counts[g.mode] += g.calls
    return {"total": sum(counts.values()), **dict(counts)}


def _calls(calls: Sequence[CallGroup], period: Period) -> dict[str, Any]:
    by_month = {m: Counter({mode: 0 for mode in MODES}) for m in period.months()}
    connected = Counter({"recorded": 0, "private": 0})
    for g in calls:
        by_month[g.day.strftime("%Y-%m")][g.mode] += g.calls
        if g.connected and g.mode in connected:
            connected[g.mode] += g.calls
    modes = _modes_of(calls)
    return {"total": modes.pop("total"), "by_mode": modes, "connected": dict(connected),
            "by_month": [{"id": m, **dict(c)} for m, c in by_month.items()]}


def _privileged(calls: Sequence[CallGroup], recorded: Sequence[PrivilegedRecordedCall],
                period: Period) -> dict[str, Any]:
    modes = _modes_of(g for g in calls if g.privileged)
    by_month = {m: Counter({"calls": 0, "recorded": 0}) for m in period.months()}
    for g in calls:
        if g.privileged:
            month = by_month[g.day.strftime("%Y-%m")]
            month["calls"] += g.calls
            month["recorded"] += g.calls if g.mode == "recorded" else 0
    return {"calls": modes.pop("total"), **modes,
            "by_month": [{"id": m, **dict(c)} for m, c in by_month.items()],
            "incidents": [_incident(c) for c in sorted(recorded, key=lambda c: c.call_id)]}


def _incident(call: PrivilegedRecordedCall) -> dict[str, Any]:
    if call.reason == "privileged_number":
        cause = "the decision found the number privileged yet recorded the call"
    else:
        cause = (f"the decision ({call.reason}) did not find the number privileged, "
                 "although the registry's history shows it verified at that moment")
    if call.recordings:
        cause += "; vault: " + ", ".join(call.recordings)
    elif call.connected:
        cause += "; no recording of it reached the vault"
    else:
        cause += "; the call did not connect"
    return {"id": str(call.call_id), "sip_call_id": call.sip_call_id, "at": iso(call.at),
            "facility": call.facility_id, "number": call.number, "mode": call.mode,
            "reason": call.reason, "cause": cause}


def _warnings(calls: Sequence[CallGroup], warned: Sequence[WarningGroup]) -> dict[str, int]:
    return {
        "recorded_calls": sum(g.calls for g in calls if g.mode == "recorded" and g.connected),
        "with_opening_warning": sum(w.with_opening_warning for w in warned),
        "reminders_played": sum(w.reminders for w in warned),
    }


def _rates(inp: Inputs, calls: Sequence[CallGroup], ledger: Sequence[LedgerGroup],
           facility: Facility | None) -> dict[str, Any]:
    facilities = inp.facilities if facility is None else [facility]
    tiers: dict[str, dict[str, Any]] = {}
    for f in facilities:
        own = [g for g in calls if g.facility_id == f.id and g.connected]
        for cap, first, last in _cap_segments(f, inp.period.start.date(), inp.as_of):
            in_segment = [g for g in own if first <= g.day <= last]
            rate = max((g.rate for g in in_segment), default=None)
            micro = max((g.max_charge_micro_per_minute for g in in_segment
                         if g.max_charge_micro_per_minute is not None), default=None)
            charged = Decimal(micro) / 1_000_000 if micro is not None else None
            label = _tier(f, cap)
            key = f"{label}|{cap.order if cap else '-'}" if facility is None \
                else f"{label}|{first.isoformat()}"
            tier = tiers.setdefault(key, {
                "id": key, "tier": label, "order": cap.order if cap else None,
                "cap": _usd(cap.per_minute) if cap else None, "from": first.isoformat(),
                "to": last.isoformat(), "highest_rate": None,
                "highest_charged_per_minute": None, "calls_connected": 0})
            tier["from"] = min(tier["from"], first.isoformat())
            tier["to"] = max(tier["to"], last.isoformat())
            tier["calls_connected"] += sum(g.calls for g in in_segment)
            tier["highest_rate"] = _max_usd(tier["highest_rate"], rate)
            tier["highest_charged_per_minute"] = _max_usd(
                tier["highest_charged_per_minute"], charged)
    for tier in tiers.values():
        limit = Decimal(tier["cap"]) if tier["cap"] is not None else None
        highs = [Decimal(v) for v in (tier["highest_rate"], tier["highest_charged_per_minute"])
                 if v is not None]
        tier["within_cap"] = not highs or (limit is not None and max(highs) <= limit)
    fees = [x for x in ledger if x.kind not in ("deposit", "charge", "refund")
            or (x.kind == "charge" and not x.with_call)]
    return {
        "tiers": sorted(tiers.values(), key=lambda t: (t["tier"], t["from"])),
        "charged_cents": sum(g.charged_cents for g in calls),
        "other_fees": {"lines": sum(x.lines for x in fees),
                       "cents": sum(-x.cents if x.cents < 0 else x.cents for x in fees)},
    }


def _cap_segments(facility: Facility, first: date, as_of: datetime
                  ) -> list[tuple[RateCap | None, date, date]]:
    """Runs of days of the period (before ``as_of``) under one cap."""
    last = (as_of - timedelta(microseconds=1)).date()
    segments: list[tuple[RateCap | None, date, date]] = []
    day = first
    while day <= last:
        try:
            cap: RateCap | None = cap_in_force(facility.kind, facility.adp, day)
        except NoRateCap:
            cap = None
        if segments and segments[-1][0] == cap:
            segments[-1] = (cap, segments[-1][1], day)
        else:
            segments.append((cap, day, day))
        day += timedelta(days=1)
    return segments


def _tier(facility: Facility, cap: RateCap | None) -> str:
    if cap is None:
        return f"{facility.kind}, no cap covers ADP {facility.adp}"
    if cap.adp_max is None:
        size = "any size" if cap.adp_min == 0 else f"ADP {cap.adp_min} and more"
    else:
        size = f"ADP {cap.adp_min} to {cap.adp_max}"
    return f"{facility.kind}, {size}"


def _usd(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.00"


def _max_usd(current: str | None, value: Decimal | None) -> str | None:
    if value is None:
        return current
    if current is None or value > Decimal(current):
        return _usd(value)
    return current


def _vault(incidents: Sequence[IncidentGroup], destructions: Sequence[DestructionGroup],
           holds: Sequence[HoldGroup]) -> dict[str, Any]:
    by_kind = Counter({k.value: 0 for k in IncidentKind})
    recordings_by_kind = Counter({k.value: 0 for k in IncidentKind})
    for i in incidents:
        by_kind[i.kind] += i.incidents
        recordings_by_kind[i.kind] += i.recordings
    destroyed = Counter[str]()
    for d in destructions:
        destroyed[d.reason] += d.recordings
    return {
        "ingest_guard_catches": recordings_by_kind[IncidentKind.PRIVILEGED_ON_ARRIVAL.value],
        "quarantined": recordings_by_kind[IncidentKind.QUARANTINED_ON_VERIFY.value],
        "destroyed": {"total": sum(destroyed.values()), "by_reason": dict(sorted(
            destroyed.items()))},
        "incidents_by_kind": dict(sorted(by_kind.items())),
        "legal_holds": {"placed": sum(h.placed for h in holds),
                        "released": sum(h.released for h in holds),
                        "active_at_end": sum(h.active_at_end for h in holds)},
    }


def _access(events: Sequence[AuditRow]) -> dict[str, Any]:
    roles: dict[str, dict[str, Any]] = {}
    for e in events:
        role = e.actor.split(":", 1)[0]
        entry = roles.setdefault(role, {"id": role, "accesses": 0, "with_stated_reason": 0,
                                        "by_action": {}, "refused": 0})
        entry["accesses"] += 1
        entry["with_stated_reason"] += 1 if str(e.details.get("reason") or "").strip() else 0
        action = e.action.removeprefix("recording.")
        entry["by_action"][action] = entry["by_action"].get(action, 0) + 1
        entry["refused"] += 0 if e.details.get("outcome", "ok") == "ok" else 1
    listed = sorted(roles.values(), key=lambda r: str(r["id"]))
    return {"accesses": sum(r["accesses"] for r in listed),
            "with_stated_reason": sum(r["with_stated_reason"] for r in listed),
            "by_role": listed}


def _disclosures(rows: Sequence[DisclosureRow]) -> dict[str, Any]:
    bases = {b.value for b in BasisType}
    by_basis = Counter[str]()
    for d in rows:
        by_basis[d.basis_type] += 1
    return {
        "total": len(rows),
        "with_legal_basis": sum(1 for d in rows if d.basis_type in bases
                                and d.basis_reference.strip()),
        "by_basis": dict(sorted(by_basis.items())),
        "list": [{"id": str(d.id), "at": iso(d.at), "facility": d.facility_id,
                  "basis_type": d.basis_type, "basis_reference": d.basis_reference,
                  "recipient": d.recipient} for d in sorted(rows, key=lambda d: d.id)],
    }


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


# --- the registry (one for every facility) ----------------------------------------------


def registry_figures(inp: Inputs) -> dict[str, Any]:
    start, as_of = inp.period.start, inp.as_of
    rows: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for c in inp.untracked_added:
        rows[(c.kind, c.source)]["added"] += c.count
        if c.source == "import":
            rows[(c.kind, c.source)]["verified"] += c.count  # imports add entries verified
    events = [e for e in inp.registry_events if start <= e.at < as_of]
    kinds = created_kinds(inp.registry_events)
    for line in inp.timelines.values():
        created = kinds.get(line.entry_id, line.kind).value
        for i, (at, status) in enumerate(line.changes):
            if not start <= at < as_of:
                continue
            if i == 0:
                rows[(created, line.source.value)]["added"] += 1
            previous = line.changes[i - 1][1] if i else None
            if status is not Status.PENDING and status is not previous:
                rows[(line.kind.value, line.source.value)][status.value] += 1
    # What imports record (services/imports.py): each batch event its own counts, the
    # run's closing event the numbers missing from a complete file. Imports never remove
    # protection; entries they send to review stay verified until staff decide.
    batches = Counter[str]()
    for e in events:
        if e.action == AuditAction.REGISTRY_IMPORT_BATCH:
            for figure, key in _BATCH_FIGURES:
                batches[figure] += _int(e.details.get(key))
        elif e.action == AuditAction.REGISTRY_IMPORT:
            batches["runs"] += 1
            batches["missing_from_directory"] += _int(e.details.get("review_missing"))
    batches["sent_to_review"] = (batches["deactivated_in_directory"]
                                 + batches["missing_from_directory"])
    instants = registry_instants(inp.period, as_of)
    waits = [int((as_of - line.created_at).total_seconds())
             for line in inp.timelines.values() if line.status_at(as_of) is Status.PENDING]
    by_month = []
    for i, moment in enumerate(instants):
        tracked = sum(1 for line in inp.timelines.values()
                      if line.status_at(moment) is Status.VERIFIED)
        untracked = inp.untracked_protected_at[i] if i < len(inp.untracked_protected_at) else 0
        pending = sum(1 for line in inp.timelines.values()
                      if line.status_at(moment) is Status.PENDING)
        by_month.append({"id": iso(moment), "protected": tracked + untracked,
                         "pending": pending})
    return {
        "by_kind_and_source": [
            {"id": f"{kind}|{source}", "kind": kind, "source": source,
             **{s: counts[s] for s in ("added", "verified", "revoked", "expired")}}
            for (kind, source), counts in sorted(rows.items())],
        "import_batches": {k: batches[k] for k in IMPORT_BATCH_FIGURES},
        "pending": {"at_end": len(waits), "oldest_wait_s": max(waits, default=None),
                    "median_wait_s": int(statistics.median_low(waits)) if waits else None},
        "by_month": by_month,
    }


# A statement's import figures, and the batch-event counts they sum.
_BATCH_FIGURES = (("confirmed", "confirmed"), ("reprotected", "reprotected"),
                  ("deactivated_in_directory", "review_deactivated"))
IMPORT_BATCH_FIGURES = ("runs", "confirmed", "reprotected", "sent_to_review",
                        "deactivated_in_directory", "missing_from_directory")


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0



# --- the statement ----------------------------------------------------------------------


def statement(inp: Inputs, *, issued_at: datetime, key_id: str,
              audit_at_issue: AuditAtIssue) -> dict[str, Any]:
    total = figures(inp, None)
    audit_ok = bool(audit_at_issue.verification.get("ok"))
    found = checks(total, audit_ok)
    return {
        "format": FORMAT,
        "title": TITLE,
        "period": {"label": inp.period.label, "start": iso(inp.period.start),
                   "end": iso(inp.period.end), "as_of": iso(inp.as_of),
                   "complete": inp.as_of >= inp.period.end},
        "issued_at": iso(issued_at),
        "scope": {"facilities": [f.id for f in inp.facilities],
                  "all_facilities": inp.all_facilities},
        "signing": {"algorithm": "Ed25519", "key_id": key_id, "note": SIGNING_NOTE},
        "summary": summary(inp, total, found, audit_at_issue),
        "checks": [c.as_json() for c in found],
        "total": total,
        "facilities": [{"id": f.id, "name": f.name, "kind": f.kind.value, "adp": f.adp,
                        "figures": figures(inp, f)} for f in inp.facilities],
        "registry": registry_figures(inp),
        "audit": {"entries_in_period": inp.audit_entries_in_period,
                  "at_issue": audit_at_issue.as_json()},
        "notes": list(NOTES),
    }
