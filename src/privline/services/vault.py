"""Vault ingest with the privilege guard, and the sweep that re-checks what is stored.

Ingest of one finished recording, in an order that survives a crash at any point::

    1. already indexed?            -> remove the leftover spool files; done
       judge the call (one read transaction): its record, its number, the registry as
       of the call's time and as of now
       privileged / not to be recorded -> tombstone row + incident + audit (one
                                          transaction), then remove the spool files
       privilege unknowable        -> incident + audit, move the files to the held folder
    2. decode (memory only)        -> a permanent failure is held back with an incident
    3. seal under a fresh data key, put the blob under a random id
    4. one transaction: lock the number, judge again, index row with the wrapped key +
       audit event; losing the spool key to another worker -> delete our blob
    5. remove the spool files

A crash between 3 and 4 leaves a blob no key can open; the sweep reclaims it. A crash
between 4 and 5 leaves spool files whose key is indexed; step 1 removes them. Nothing
is removed from the spool before the transaction that accounts for it has committed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.model import Actor, CallRecord
from privline.domain.registry import privilege_at
from privline.domain.vault import (
    DestroyReason,
    IncidentKind,
    IngestVerdict,
    NewRecording,
    RecordingState,
    ingest_verdict,
)
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import Unavailable
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.registry import RegistryUnavailable
from privline.services.ports.vault import (
    DuplicateRecording,
    SpooledItem,
    Vault,
    VaultIOError,
)
from privline.services.quarantine import quarantine_number

# A blob younger than this with no index row may belong to an ingest in progress.
ORPHAN_GRACE = timedelta(hours=1)


class Outcome(StrEnum):
    STORED = "stored"
    ALREADY = "already"  # indexed before (by us in an earlier run, or another worker)
    DESTROYED = "destroyed"  # destroyed on arrival by the guard
    HELD_BACK = "held_back"  # undecodable or unattributable: moved aside for a person
    RETRY = "retry"  # a transient failure: left in the spool for the next run


@dataclass
class IngestReport:
    stored: list[int] = field(default_factory=list)
    already: int = 0
    destroyed: list[str] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)
    retry: dict[str, str] = field(default_factory=dict)  # spool key -> why

    def add(self, item: SpooledItem, outcome: Outcome, detail: Any) -> None:
        if outcome is Outcome.STORED:
            self.stored.append(int(detail))
        elif outcome is Outcome.ALREADY:
            self.already += 1
        elif outcome is Outcome.DESTROYED:
            self.destroyed.append(item.key)
        elif outcome is Outcome.HELD_BACK:
            self.held_back.append(item.key)
        else:
            self.retry[item.key] = str(detail)

    def as_json(self) -> dict[str, Any]:
        return {"stored": len(self.stored), "recording_ids": self.stored,
                "already_indexed": self.already, "destroyed_on_arrival": self.destroyed,
                "held_back": self.held_back, "retry": self.retry}


def ingest_all(uow_factory: UnitOfWorkFactory, actor: Actor, vault: Vault, *,
               now: datetime, limit: int | None = None) -> IngestReport:
    """Ingest every finished recording in the spool, oldest first."""
    check_allowed(actor, Action.VAULT_INGEST)
    try:
        items = list(vault.source.finished())
    except VaultIOError as exc:
        raise Unavailable(f"the recording spool cannot be read: {exc.message}",
                          code="spool_unavailable") from exc
    report = IngestReport()
    for item in items[:limit]:
        outcome, detail = ingest_one(uow_factory, actor, vault, item, now=now)
        report.add(item, outcome, detail)
    return report


def ingest_one(uow_factory: UnitOfWorkFactory, actor: Actor, vault: Vault,
               item: SpooledItem, *, now: datetime) -> tuple[Outcome, Any]:
    """Ingest one recording; returns the outcome and the recording id or the reason."""
    check_allowed(actor, Action.VAULT_INGEST)
    try:
        return _ingest(uow_factory, actor, vault, item, now)
    except RegistryUnavailable as exc:
        return Outcome.RETRY, f"registry unavailable: {exc}"
    except VaultIOError as exc:
        if exc.retryable:
            return Outcome.RETRY, exc.message
        raise Unavailable(f"vault failure on {item.key}: {exc.message}",
                          code="vault_failure") from exc


def _ingest(uow_factory: UnitOfWorkFactory, actor: Actor, vault: Vault, item: SpooledItem,
            now: datetime) -> tuple[Outcome, Any]:
    outcome, call = _first_look(uow_factory, actor, item, now)
    if outcome in (Outcome.ALREADY, Outcome.DESTROYED):
        vault.source.remove(item)
        return outcome, None
    if outcome is Outcome.HELD_BACK:
        vault.source.hold_back(item)
        return outcome, None
    assert call is not None and call.number is not None  # noqa: S101 - judged STORE
    try:
        audio = vault.source.decode(item)
    except VaultIOError as exc:
        if exc.retryable:
            raise
        return _hold_back_undecodable(uow_factory, actor, vault, item, call, exc, now)
    sealed = vault.keys.seal(audio.wav, item.key)
    blob_id = "r" + secrets.token_hex(16)
    vault.blobs.put(blob_id, sealed.blob)
    new = NewRecording(
        spool_key=item.key, sip_call_id=item.call_id, call_id=call.id,
        facility_id=call.facility_id, resident_id=call.resident_id, number=call.number,
        call_at=call.at, state=RecordingState.STORED, blob_id=blob_id,
        wrapped_key=sealed.wrapped_key, master_key_id=sealed.master_key_id,
        audio_ms=audio.duration_ms, audio_bytes=len(audio.wav), channels=audio.channels)
    outcome, detail = _index(uow_factory, actor, vault, item, call, new, now)
    if outcome is not Outcome.RETRY:
        try:
            vault.source.remove(item)
        except VaultIOError as exc:
            if not exc.retryable:
                raise
            # Stored and indexed: the next run finds the key indexed and removes these.
    return outcome, detail


def _first_look(uow_factory: UnitOfWorkFactory, actor: Actor, item: SpooledItem,
                now: datetime) -> tuple[Outcome | None, CallRecord | None]:
    """Step 1. ``None`` means: go on and store it."""
    try:
        with uow_factory() as uow:
            if uow.recordings.by_spool_key(item.key) is not None:
                return Outcome.ALREADY, None
            call, verdict = _judge(uow, item, now)
            if verdict is IngestVerdict.STORE:
                return None, call
            outcome = _refuse(uow, actor, item, call, verdict, now)
            uow.commit()
            return outcome, call
    except DuplicateRecording:
        return Outcome.ALREADY, None  # another worker refused it a moment ago


def _judge(uow: UnitOfWork, item: SpooledItem, now: datetime
           ) -> tuple[CallRecord | None, IngestVerdict]:
    """The guard's inputs, read in the caller's transaction. RegistryUnavailable passes
    through: an outage is a reason to retry, not to decide."""
    call = uow.calls.get(item.call_id)
    if call is None or call.number is None:
        return call, IngestVerdict.HOLD_BACK
    entries = uow.registry.entries_for(call.number)
    return call, ingest_verdict(decided_recorded=call.mode == "recorded",
                                at_call=privilege_at(entries, call.at),
                                now=privilege_at(entries, now))


def _refuse(uow: UnitOfWork, actor: Actor, item: SpooledItem, call: CallRecord | None,
            verdict: IngestVerdict, now: datetime) -> Outcome:
    """Account for a recording that must not be stored, inside the caller's transaction."""
    where: dict[str, Any] = {
        "spool_key": item.key, "sip_call_id": item.call_id,
        "facility_id": call.facility_id if call else None,
        "number": call.number if call else None}
    if verdict is IngestVerdict.HOLD_BACK:
        kind = IncidentKind.UNATTRIBUTABLE
        if not uow.incidents.exists(kind, item.key):  # a rerun after a crash: once
            why = "no call record" if call is None else "the call has no parsed number"
            incident = uow.incidents.open(kind, at=now, recordings=1, details={"why": why},
                                          **where)
            audit.record(uow, actor, AuditAction.RECORDING_HOLD_BACK, f"incident:{incident}", now,
                         why=why, **where)
        return Outcome.HELD_BACK
    assert call is not None  # noqa: S101 - only HOLD_BACK comes without a call
    if verdict is IngestVerdict.DESTROY_PRIVILEGED:
        kind, reason = IncidentKind.PRIVILEGED_ON_ARRIVAL, DestroyReason.PRIVILEGED_ON_ARRIVAL
    else:
        kind = IncidentKind.RECORDED_AGAINST_DECISION
        reason = DestroyReason.RECORDED_AGAINST_DECISION
    incident = uow.incidents.open(kind, at=now, recordings=1,
                                  details={"call_mode": call.mode, "call_at": call.at.isoformat()},
                                  **where)
    # The row keeps the fact of the destruction (and makes a rerun see "indexed").
    recording_id = uow.recordings.add(NewRecording(
        spool_key=item.key, sip_call_id=item.call_id, call_id=call.id,
        facility_id=call.facility_id, resident_id=call.resident_id, number=call.number,
        call_at=call.at, state=RecordingState.DESTROYED, blob_id=None, wrapped_key=None,
        master_key_id=None, audio_ms=None, audio_bytes=None, channels=None,
        incident_id=incident, destroyed_reason=reason.value), now)
    audit.record(uow, actor, AuditAction.RECORDING_DESTROY_ON_ARRIVAL,
                 f"recording:{recording_id}", now,
                 incident=incident, reason=reason.value, call_mode=call.mode, **where)
    return Outcome.DESTROYED


def _hold_back_undecodable(uow_factory: UnitOfWorkFactory, actor: Actor, vault: Vault,
                           item: SpooledItem, call: CallRecord, exc: VaultIOError,
                           now: datetime) -> tuple[Outcome, Any]:
    with uow_factory() as uow:
        kind = IncidentKind.UNDECODABLE
        if not uow.incidents.exists(kind, item.key):
            incident = uow.incidents.open(
                kind, at=now, recordings=1, details={"error": exc.message[:500]},
                spool_key=item.key, sip_call_id=item.call_id, facility_id=call.facility_id,
                number=call.number)
            audit.record(uow, actor, AuditAction.RECORDING_HOLD_BACK, f"incident:{incident}", now,
                         spool_key=item.key, sip_call_id=item.call_id, error=exc.message[:500])
            uow.commit()
    vault.source.hold_back(item)
    return Outcome.HELD_BACK, exc.message


def _index(uow_factory: UnitOfWorkFactory, actor: Actor, vault: Vault, item: SpooledItem,
           call: CallRecord, new: NewRecording, now: datetime) -> tuple[Outcome, Any]:
    """Step 4. Our blob is deleted whenever we know the transaction did not commit; when
    the commit itself fails we cannot know, and leave the blob to the sweep."""
    assert new.blob_id is not None and new.number is not None  # noqa: S101
    committing = False
    try:
        with uow_factory() as uow:
            # Serialise with a concurrent verification of this number, then judge again:
            # either its quarantine sees our row, or we see its verified entry.
            uow.recordings.lock_number(new.number)
            _, verdict = _judge(uow, item, now)
            if verdict is not IngestVerdict.STORE:
                outcome = _refuse(uow, actor, item, call, verdict, now)
                committing = True
                uow.commit()
                _discard(vault, new.blob_id)
                return outcome, None
            recording_id = uow.recordings.add(new, now)
            audit.record(uow, actor, AuditAction.RECORDING_STORE, f"recording:{recording_id}", now,
                         spool_key=item.key, sip_call_id=item.call_id,
                         facility=new.facility_id, audio_ms=new.audio_ms,
                         audio_bytes=new.audio_bytes, master_key_id=new.master_key_id)
            committing = True
            uow.commit()
        return Outcome.STORED, recording_id
    except DuplicateRecording:
        _discard(vault, new.blob_id)
        return Outcome.ALREADY, None
    except RegistryUnavailable as exc:
        _discard(vault, new.blob_id)
        return Outcome.RETRY, f"registry unavailable: {exc}"
    except BaseException:
        if not committing:
            _discard(vault, new.blob_id)
        raise


def _discard(vault: Vault, blob_id: str) -> None:
    try:
        vault.blobs.delete(blob_id)
    except VaultIOError:
        pass  # no index row holds its key: noise, and the sweep reclaims it


@dataclass
class SweepReport:
    quarantined: dict[str, int] = field(default_factory=dict)  # number -> recordings
    reclaimed_orphans: int = 0  # blobs no index row holds a key for
    reclaimed_destroyed: int = 0  # blobs of destroyed rows whose delete had not stuck
    temporary_removed: int = 0
    missing_blobs: list[int] = field(default_factory=list)  # live rows without a blob
    spool_findings: list[str] = field(default_factory=list)  # for a person to look at

    def as_json(self) -> dict[str, Any]:
        return {"quarantined": self.quarantined,
                "recordings_quarantined": sum(self.quarantined.values()),
                "reclaimed_orphans": self.reclaimed_orphans,
                "reclaimed_destroyed": self.reclaimed_destroyed,
                "temporary_removed": self.temporary_removed,
                "missing_blobs": self.missing_blobs,
                "spool_findings": self.spool_findings}


def sweep(uow_factory: UnitOfWorkFactory, actor: Actor, vault: Vault, *, now: datetime,
          orphan_grace: timedelta = ORPHAN_GRACE) -> SweepReport:
    """Re-check every stored recording against the registry (e.g. after a bulk import)
    and reconcile the blob store with the index."""
    check_allowed(actor, Action.VAULT_MANAGE)
    report = SweepReport()
    with uow_factory() as uow:
        numbers = list(uow.recordings.numbers_needing_quarantine())
    for number in numbers:  # one transaction each: a long sweep holds no lock for long
        with uow_factory() as uow:
            moved = quarantine_number(uow, actor, number, now, cause="sweep")
            uow.commit()
        if moved:
            report.quarantined[number] = moved
    try:
        _reconcile(uow_factory, vault, report, now, orphan_grace)
        report.spool_findings = vault.source.findings()
    except VaultIOError as exc:
        raise Unavailable(f"the blob store failed: {exc.message}", code="vault_failure") from exc
    if report.reclaimed_orphans or report.reclaimed_destroyed or report.missing_blobs:
        with uow_factory() as uow:
            audit.record(uow, actor, AuditAction.VAULT_RECONCILE, "vault", now,
                         reclaimed_orphans=report.reclaimed_orphans,
                         reclaimed_destroyed=report.reclaimed_destroyed,
                         missing_blobs=report.missing_blobs[:1000])
            uow.commit()
    return report


def _reconcile(uow_factory: UnitOfWorkFactory, vault: Vault, report: SweepReport,
               now: datetime, grace: timedelta) -> None:
    report.temporary_removed = vault.blobs.sweep_temporary(now, grace.total_seconds())
    listing = dict(vault.blobs.listing())
    ids = sorted(listing)
    for first in range(0, len(ids), 1000):
        chunk = ids[first:first + 1000]
        with uow_factory() as uow:
            states = uow.recordings.blob_states(chunk)
        for blob_id in chunk:
            state = states.get(blob_id)
            if state is RecordingState.DESTROYED:
                report.reclaimed_destroyed += vault.blobs.delete(blob_id)
            elif state is None and now - listing[blob_id] >= grace:
                report.reclaimed_orphans += vault.blobs.delete(blob_id)
    after = 0
    while True:
        with uow_factory() as uow:
            live = uow.recordings.live_blob_ids(after, 5000)
        if not live:
            return
        report.missing_blobs.extend(rid for rid, blob_id in live if blob_id not in listing)
        after = live[-1][0]
