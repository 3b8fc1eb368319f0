"""Statements of compliance: issue one, and check one against the data.

Issuing reads everything in one snapshot (:mod:`privline.services.ports.compliance`),
assembles the figures, signs the canonical bytes with the audit log's Ed25519 key and
audits the issue. Checking recomputes the statement from the data with the statement's
own period, scope and ``as_of``, compares every figure, and checks that the audit log
still holds the head the statement pinned and still verifies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from privline.domain.access import Action
from privline.domain.audit_chain import Checkpoint, verify_chain
from privline.domain.audit_events import AuditAction
from privline.domain.compliance import (
    Difference,
    InvalidPeriod,
    Period,
    canonical_bytes,
    differences,
    iso,
    parse_period,
    schedule,
)
from privline.domain.compliance_figures import statement
from privline.domain.compliance_rows import (
    ACCESS_ACTIONS,
    AuditAtIssue,
    Inputs,
    registry_instants,
)
from privline.domain.model import Actor, Facility
from privline.domain.registry_history import (
    ENTRY_ACTIONS,
    IMPORT_BATCH_ACTIONS,
    timelines,
    tracked_ids,
)
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import InvalidInput, NotFound
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.audit import Signer
from privline.services.ports.compliance import ReportQueries, ReportReader

CheckpointOk = Callable[[Checkpoint], bool]
ISSUE_ACTION = AuditAction.REPORT_COMPLIANCE
MAX_INCIDENTS_LISTED = 1000


@dataclass(frozen=True)
class Issued:
    statement: dict[str, Any]
    body: bytes  # canonical JSON: exactly what is signed and written
    signature: bytes


@dataclass(frozen=True)
class Scope:
    period: Period
    as_of: datetime
    facility_ids: tuple[str, ...] | None  # None: every facility


def compute(q: ReportQueries, scope: Scope, *, issued_at: datetime, key_id: str,
            checkpoint_ok: CheckpointOk,
            audit_at_issue: AuditAtIssue | None = None) -> tuple[dict[str, Any], AuditAtIssue]:
    """The statement of ``scope`` from the snapshot ``q``.

    ``audit_at_issue`` None: the audit log is verified now and that is the issue-time
    record; given (when checking a statement), it is taken as stated.
    """
    period, as_of = scope.period, scope.as_of
    facilities = _facilities(q, scope.facility_ids, as_of)
    wanted = None if scope.facility_ids is None else [f.id for f in facilities]

    events = q.audit_rows((*ENTRY_ACTIONS, *IMPORT_BATCH_ACTIONS), None, as_of)
    tracked = tracked_ids(events)
    lines = timelines(events, q.entry_rows(tracked))
    q.track(tracked, [span for line in lines.values() for span in line.intervals()])

    calls = q.call_groups(period.start, as_of, wanted)
    flagged = any(g.privileged and g.mode == "recorded" for g in calls)
    inputs = Inputs(
        period=period, as_of=as_of, facilities=facilities,
        all_facilities=scope.facility_ids is None,
        calls=calls,
        warnings=q.warning_groups(period.start, as_of, wanted),
        privileged_recorded=q.privileged_recorded(period.start, as_of, wanted,
                                                  MAX_INCIDENTS_LISTED) if flagged else (),
        incidents=q.incident_groups(period.start, as_of),
        destructions=q.destruction_groups(period.start, as_of),
        holds=q.hold_groups(period.start, as_of),
        disclosures=q.disclosures(period.start, as_of),
        access=q.audit_rows(ACCESS_ACTIONS, period.start, as_of),
        ledger=q.ledger_groups(period.start, as_of),
        location_requests=q.count_actions("location.", period.start, as_of),
        registry_events=events,
        timelines=lines,
        untracked_added=q.untracked_added(period.start, as_of),
        untracked_protected_at=q.untracked_protected_at(registry_instants(period, as_of)),
    )
    in_period, now_record = _walk_audit(q, period.start, as_of, checkpoint_ok)
    inputs.audit_entries_in_period = in_period
    at_issue = audit_at_issue or now_record
    return statement(inputs, issued_at=issued_at, key_id=key_id,
                     audit_at_issue=at_issue), now_record


_BEFORE_ANY_DATA = datetime(1970, 1, 1, tzinfo=UTC)


def issue(reader: ReportReader, signer: Signer, actor: Actor, *, period: str,
          facility_ids: Sequence[str] | None, now: datetime,
          checkpoint_ok: CheckpointOk, uow_factory: UnitOfWorkFactory | None = None
          ) -> Issued:
    """Compute and sign one statement (see :func:`record_issue` for its audit event).

    A period that ends before the first audit entry is refused: a statement about a
    time the system held no data would sign "all checks passed" for nothing. Given
    ``uow_factory``, the audit head is checkpointed (signed) first, so the statement
    pins a head that a signed checkpoint covers, not one up to 1,000 entries past it.
    """
    check_allowed(actor, Action.AUDIT_VERIFY)
    try:
        parsed = parse_period(period)
    except InvalidPeriod as exc:
        raise InvalidInput(exc.message, code=exc.code) from exc
    if parsed.start > now:
        raise InvalidInput(f"{parsed.label} has not started", code="period_in_future")
    ids = tuple(sorted(set(facility_ids))) if facility_ids else None
    scope = Scope(parsed, parsed.as_of(now), ids)
    with reader() as q:
        if q.count_audit(_BEFORE_ANY_DATA, parsed.end) == 0:
            raise InvalidInput(f"{parsed.label} ends before the first audit entry: there is "
                               "nothing to state", code="period_before_data")
    if uow_factory is not None:
        audit.checkpoint(uow_factory, actor, now=now)
    with reader() as q:
        body_json, _ = compute(q, scope, issued_at=now, key_id=signer.key_id,
                               checkpoint_ok=checkpoint_ok)
    body = canonical_bytes(body_json)
    return Issued(body_json, body, signer.sign(body))


def next_issue_number(reader: ReportReader, actor: Actor, label: str, now: datetime) -> int:
    """Issues of one period are numbered 1, 2, ... in the order they were handed out."""
    check_allowed(actor, Action.AUDIT_VERIFY)
    with reader() as q:
        rows = q.audit_rows((ISSUE_ACTION,), None, now)
    return 1 + sum(1 for row in rows if row.subject == f"statement:{label}")


def record_issue(uow_factory: UnitOfWorkFactory, actor: Actor, issued: Issued, *,
                 number: int = 1, folder: str = "") -> None:
    """Audit that ``issued`` was handed out (after its files are ready)."""
    check_allowed(actor, Action.AUDIT_VERIFY)
    s = issued.statement
    at_issue = s["audit"]["at_issue"]
    facilities = None if s["scope"]["all_facilities"] else s["scope"]["facilities"]
    with uow_factory() as uow:
        audit.record(uow, actor, ISSUE_ACTION, f"statement:{s['period']['label']}",
                     datetime.fromisoformat(s["issued_at"]),
                     sha256=hashlib.sha256(issued.body).hexdigest(),
                     as_of=s["period"]["as_of"], facilities=facilities,
                     key_id=s["signing"]["key_id"], head_seq=at_issue["head_seq"],
                     head_hash=at_issue["head_hash"], issue=number, folder=folder,
                     checks_failed=[c["id"] for c in s["checks"] if not c["ok"]])
        # Kept, so auditors can download exactly what was signed (the console's /audit).
        uow.records.keep_statement(s["period"]["label"], datetime.fromisoformat(s["issued_at"]),
                                   hashlib.sha256(issued.body).hexdigest(), issued.body,
                                   issued.signature, facilities is None)
        uow.commit()


@dataclass
class Recheck:
    """What recomputing a statement from the data found."""

    differences: list[Difference] = field(default_factory=list)
    audit_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences and not self.audit_problems


def recheck(reader: ReportReader, actor: Actor, stated: Mapping[str, Any], *,
            checkpoint_ok: CheckpointOk) -> Recheck:
    """Recompute ``stated`` from the data and list every difference."""
    check_allowed(actor, Action.AUDIT_VERIFY)
    try:
        period = parse_period(str(stated["period"]["label"]))
        as_of = datetime.fromisoformat(str(stated["period"]["as_of"]))
        scope_json = stated["scope"]
        ids = None if scope_json["all_facilities"] else tuple(scope_json["facilities"])
        at_issue_json = stated["audit"]["at_issue"]
        at_issue = AuditAtIssue(int(at_issue_json["head_seq"]), str(at_issue_json["head_hash"]),
                                at_issue_json["last_checkpoint"], at_issue_json["verification"])
        issued_at = datetime.fromisoformat(str(stated["issued_at"]))
        key_id = str(stated["signing"]["key_id"])
    except (KeyError, TypeError, ValueError, InvalidPeriod) as exc:
        raise InvalidInput(f"not a privline statement: {exc}", code="bad_statement") from exc
    result = Recheck()
    with reader() as q:
        try:
            recomputed, now_record = compute(q, Scope(period, as_of, ids), issued_at=issued_at,
                                             key_id=key_id, checkpoint_ok=checkpoint_ok,
                                             audit_at_issue=at_issue)
        except NotFound as exc:
            result.audit_problems.append(exc.message)
            return result
        result.differences = differences(dict(stated), recomputed)
        result.audit_problems = _audit_still_holds(q, at_issue, now_record, checkpoint_ok)
    return result


def statements_issued(reader: ReportReader, actor: Actor, start: datetime,
                      years: int, now: datetime) -> list[dict[str, Any]]:
    """The schedule of half-yearly statements: which are issued, due or not yet due."""
    check_allowed(actor, Action.AUDIT_VERIFY)
    try:
        periods = schedule(start.date(), years)
    except InvalidPeriod as exc:
        raise InvalidInput(exc.message, code=exc.code) from exc
    with reader() as q:
        rows = q.audit_rows((ISSUE_ACTION,), None, now)
    issued: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        label = row.subject.removeprefix("statement:")
        if not row.details.get("facilities"):  # a statement for every facility
            held = issued.setdefault(label, [])
            held.append({"number": int(row.details.get("issue", len(held) + 1)),
                         "at": iso(row.at), "folder": str(row.details.get("folder", "")),
                         "sha256": row.details.get("sha256")})
    listed = []
    for p in periods:
        issues = issued.get(p.label, [])
        status = "issued" if issues else ("due" if p.end <= now else "not_yet_due")
        listed.append({"period": p.label, "start": iso(p.start), "end": iso(p.end),
                       "status": status, "issued_at": [i["at"] for i in issues],
                       "issues": issues})
    return listed


# --- internals --------------------------------------------------------------------------


def _facilities(q: ReportQueries, ids: Sequence[str] | None, until: datetime
                ) -> list[Facility]:
    known = {f.id: f for f in q.facilities(until)}
    if ids is None:
        return sorted(known.values(), key=lambda f: f.id)
    missing = [i for i in ids if i not in known]
    if missing:
        raise NotFound(f"no facility {', '.join(missing)}", code="facility_not_found")
    return [known[i] for i in sorted(ids)]


def _walk_audit(q: ReportQueries, start: datetime, until: datetime,
                checkpoint_ok: CheckpointOk) -> tuple[int, AuditAtIssue]:
    """Verify the whole chain, counting the period's entries on the way."""
    counted = 0

    def entries() -> Any:
        nonlocal counted
        for entry in q.audit_entries():
            if start <= entry.at < until:
                counted += 1
            yield entry

    checkpoints = q.audit_checkpoints()
    verdict = verify_chain(entries(), checkpoints, checkpoint_ok)
    if not verdict.ok:  # the walk stopped early: count the period's entries directly
        counted = q.count_audit(start, until)
    head_seq, head_hash = q.audit_head()
    last = max(checkpoints, key=lambda c: c.seq, default=None)
    record = AuditAtIssue(
        head_seq, head_hash,
        None if last is None else {"seq": last.seq, "hash": last.hash, "key_id": last.key_id,
                                   "at": iso(last.at), "signature": last.signature.hex()},
        {"ok": verdict.ok, "entries": verdict.entries, "checkpoints": verdict.checkpoints,
         "first_bad_seq": verdict.first_bad_seq, "problem": verdict.problem})
    return counted, record


def _audit_still_holds(q: ReportQueries, stated: AuditAtIssue, now: AuditAtIssue,
                       checkpoint_ok: CheckpointOk) -> list[str]:
    problems = []
    if not now.verification.get("ok"):
        problems.append(f"the audit log no longer verifies: entry "
                        f"{now.verification.get('first_bad_seq')}: "
                        f"{now.verification.get('problem')}")
    if stated.head_seq > 0:
        entry = q.audit_entry(stated.head_seq)
        if entry is None:
            problems.append(f"the audit log has no entry {stated.head_seq}, the head the "
                            "statement pinned: it was truncated")
        elif entry.hash != stated.head_hash:
            problems.append(f"audit entry {stated.head_seq} no longer has the hash the "
                            "statement pinned")
    cp = stated.last_checkpoint
    if cp is not None:
        held = {c.seq: c for c in q.audit_checkpoints()}.get(int(cp["seq"]))
        if held is None or held.hash != cp["hash"] or held.signature.hex() != cp["signature"]:
            problems.append(f"the signed checkpoint at {cp['seq']} the statement names is "
                            "missing or changed")
        elif not checkpoint_ok(held):
            problems.append(f"the checkpoint at {cp['seq']} does not verify with this key")
    return problems
