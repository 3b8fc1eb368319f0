"""A stored recording's end: retention, review periods, destruction, legal holds.

Destruction is crypto-shredding in two steps. One transaction marks the row destroyed,
drops its wrapped key and writes the audit event; after it commits, the blob is deleted.
A crash in between leaves a blob nobody can open, which the sweep deletes. The row
stays: it keeps the fact of the destruction, never the audio.

A legal hold (with its stated basis) stops every automatic destruction until released.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.model import Actor
from privline.domain.text import free_text
from privline.domain.vault import (
    MAX_REASON,
    DestroyReason,
    Incident,
    LegalHold,
    Recording,
    RecordingState,
    VaultPolicy,
)
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import Conflict, InvalidInput, NotFound, checked
from privline.services.facilities import get_facility
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.vault import Vault, VaultIOError

BATCH = 500


def text(field_name: str, value: str, *, limit: int = MAX_REASON) -> str:
    """A required free-text field (a reason, a basis), under the one rule."""
    return checked(free_text, field_name, value, limit=limit,
                     code=field_name.replace(" ", "_") + "_required")


@dataclass
class PurgeReport:
    past_retention: list[int] = field(default_factory=list)
    past_review: list[int] = field(default_factory=list)
    blobs_left: int = 0  # deletes that failed; the sweep finishes them

    def as_json(self) -> dict[str, Any]:
        return {"destroyed_past_retention": len(self.past_retention),
                "destroyed_after_review": len(self.past_review),
                "recording_ids": sorted(self.past_retention + self.past_review),
                "blobs_left_for_sweep": self.blobs_left}


def purge_expired(uow_factory: UnitOfWorkFactory, actor: Actor, vault: Vault, *,
                  now: datetime) -> PurgeReport:
    """Destroy what is past its facility's retention period, then what is past review."""
    check_allowed(actor, Action.VAULT_MANAGE)
    report = PurgeReport()
    with uow_factory() as uow:
        cutoffs = {f: uow.vault_settings.get(f).retention_cutoff(now)
                   for f in uow.recordings.facilities_with_stored()}
    for facility_id, cutoff in cutoffs.items():
        while True:
            with uow_factory() as uow:
                due = uow.recordings.past_retention(facility_id, cutoff, BATCH)
                if not due:
                    break
                _destroy(uow, actor, due, DestroyReason.RETENTION_PERIOD_OVER, now,
                         retention_cutoff=cutoff.isoformat())
                uow.commit()
            report.past_retention.extend(r.id for r in due)
            report.blobs_left += _delete_blobs(vault, due)
    more = destroy_after_review(uow_factory, actor, vault, now=now)
    report.past_review, report.blobs_left = more.past_review, report.blobs_left + more.blobs_left
    return report


def destroy_after_review(uow_factory: UnitOfWorkFactory, actor: Actor, vault: Vault, *,
                         now: datetime) -> PurgeReport:
    """Destroy quarantined recordings whose review period is over and that no legal
    hold keeps."""
    check_allowed(actor, Action.VAULT_MANAGE)
    report = PurgeReport()
    while True:
        with uow_factory() as uow:
            due = uow.recordings.due_after_review(now, BATCH)
            if not due:
                return report
            _destroy(uow, actor, due, DestroyReason.REVIEW_PERIOD_OVER, now)
            uow.commit()
        report.past_review.extend(r.id for r in due)
        report.blobs_left += _delete_blobs(vault, due)


def destroy_recording(uow_factory: UnitOfWorkFactory, actor: Actor, vault: Vault,
                      recording_id: int, *, reason: str, now: datetime) -> Recording:
    """Destroy a quarantined recording once its review is done, before the period ends."""
    check_allowed(actor, Action.VAULT_MANAGE)
    reason = text("reason", reason)
    with uow_factory() as uow:
        recording = _get(uow, recording_id)
        if recording.state is not RecordingState.QUARANTINED:
            raise Conflict(f"recording {recording_id} is {recording.state}; only a "
                           "quarantined recording is destroyed after review",
                           code="not_quarantined")
        holds = uow.holds.active_for(recording_id)
        if holds:
            raise Conflict(f"recording {recording_id} is under legal hold {holds[0].id}",
                           code="legal_hold", hold_id=holds[0].id)
        _destroy(uow, actor, [recording], DestroyReason.AFTER_REVIEW, now, note=reason)
        uow.commit()
    _delete_blobs(vault, [recording])
    with uow_factory() as uow:
        return _get(uow, recording_id)


def _destroy(uow: UnitOfWork, actor: Actor, recordings: Sequence[Recording],
             reason: DestroyReason, now: datetime, **details: Any) -> None:
    uow.recordings.destroy([r.id for r in recordings], now, reason.value)
    for r in recordings:
        audit.record(uow, actor, AuditAction.RECORDING_DESTROY, f"recording:{r.id}", now,
                     reason=reason.value, previous=r.state.value, blob_id=r.blob_id,
                     facility=r.facility_id, **details)


def _delete_blobs(vault: Vault, recordings: Sequence[Recording]) -> int:
    """Delete the blobs of committed destructions; returns how many could not be."""
    left = 0
    for r in recordings:
        if r.blob_id is None:
            continue
        try:
            vault.blobs.delete(r.blob_id)
        except VaultIOError:
            left += 1
    return left


def _get(uow: UnitOfWork, recording_id: int) -> Recording:
    recording = uow.recordings.get(recording_id)
    if recording is None:
        raise NotFound(f"no recording {recording_id}", code="recording_not_found")
    return recording


def place_hold(uow_factory: UnitOfWorkFactory, actor: Actor, recording_id: int, *,
               basis: str, now: datetime) -> LegalHold:
    """Keep a recording from every automatic destruction, for a stated legal basis."""
    check_allowed(actor, Action.LEGAL_HOLD)
    basis = text("basis", basis)
    with uow_factory() as uow:
        recording = _get(uow, recording_id)
        if recording.state is RecordingState.DESTROYED:
            raise Conflict(f"recording {recording_id} was destroyed on "
                           f"{recording.destroyed_at}", code="already_destroyed")
        by = f"{actor.role}:{actor.name}"
        hold_id = uow.holds.place(recording_id, basis, by, now)
        audit.record(uow, actor, AuditAction.RECORDING_HOLD, f"recording:{recording_id}", now,
                     hold=hold_id, basis=basis, state=recording.state.value)
        hold = uow.holds.get(hold_id)
        uow.commit()
    assert hold is not None  # noqa: S101 - read back inside the same transaction
    return hold


def release_hold(uow_factory: UnitOfWorkFactory, actor: Actor, hold_id: int, *,
                 reason: str, now: datetime) -> LegalHold:
    check_allowed(actor, Action.LEGAL_HOLD)
    reason = text("reason", reason)
    with uow_factory() as uow:
        hold = uow.holds.get(hold_id)
        if hold is None:
            raise NotFound(f"no legal hold {hold_id}", code="hold_not_found")
        if hold.released_at is not None:
            raise Conflict(f"legal hold {hold_id} was released already", code="hold_released")
        uow.holds.release(hold_id, f"{actor.role}:{actor.name}", reason, now)
        audit.record(uow, actor, AuditAction.RECORDING_RELEASE_HOLD,
                     f"recording:{hold.recording_id}",
                     now, hold=hold_id, reason=reason)
        released = uow.holds.get(hold_id)
        uow.commit()
    assert released is not None  # noqa: S101
    return released


def set_policy(uow_factory: UnitOfWorkFactory, actor: Actor, facility_id: str, *,
               review_days: int | None = None, retention_days: int | None = None,
               now: datetime) -> VaultPolicy:
    """Set a facility's review and retention periods (unset ones keep their value)."""
    check_allowed(actor, Action.VAULT_MANAGE)
    with uow_factory() as uow:
        get_facility(uow, facility_id)
        current = uow.vault_settings.get(facility_id)
        policy = VaultPolicy(
            current.review_days if review_days is None else review_days,
            current.retention_days if retention_days is None else retention_days)
        problems = policy.problems()
        if problems:
            raise InvalidInput("; ".join(problems), code="invalid_period")
        uow.vault_settings.set(facility_id, policy, now)
        audit.record(uow, actor, AuditAction.VAULT_SETTINGS, f"facility:{facility_id}", now,
                     review_days=policy.review_days, retention_days=policy.retention_days,
                     previous_review_days=current.review_days,
                     previous_retention_days=current.retention_days)
        uow.commit()
    return policy


def get_policy(uow_factory: UnitOfWorkFactory, actor: Actor, facility_id: str) -> VaultPolicy:
    check_allowed(actor, Action.INCIDENT_READ)
    with uow_factory() as uow:
        get_facility(uow, facility_id)
        return uow.vault_settings.get(facility_id)


def list_incidents(uow_factory: UnitOfWorkFactory, actor: Actor, *, open_only: bool = False,
                   limit: int = 100, offset: int = 0) -> Sequence[Incident]:
    check_allowed(actor, Action.INCIDENT_READ)
    if not (1 <= limit <= 1000 and offset >= 0):
        raise InvalidInput("limit must be 1..1000 and offset >= 0", code="invalid_page")
    with uow_factory() as uow:
        return uow.incidents.list(open_only=open_only, limit=limit, offset=offset)
