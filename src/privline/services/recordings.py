"""Investigators' access to recordings: list, play, export. Always with a reason.

Who: the investigator role (or an administrator), scoped to the facilities granted to
the user (an administrator reaches every facility). Every list, play and export writes
an audit event with the reason, in the same transaction as the read, so no audio leaves
the vault unless its access is on the record. A quarantined, destroyed or out-of-scope
recording answers exactly like one that does not exist, and the attempt is audited too.

An export is a disclosure outside the platform: it needs a legal basis (warrant,
subpoena or court order, with its reference) and is written to the disclosure ledger
with the SHA-256 of the bytes handed over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from privline.domain.access import Action, Role
from privline.domain.audit_events import AuditAction
from privline.domain.model import Actor
from privline.domain.vault import BasisType, Recording, RecordingState
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import InvalidInput, NotFound, ServiceError, Unavailable
from privline.services.facilities import get_facility
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.vault import Vault, VaultIOError
from privline.services.records import Page
from privline.services.registry import normalize
from privline.services.vault_lifecycle import text

# Hands an export's WAV to its recipient (writes the file); raises OSError on failure.
Deliver = Callable[[bytes], None]


@dataclass(frozen=True)
class RecordingView:
    """What an investigator sees of a recording: never keys, blob ids or spool names."""

    id: int
    facility_id: str | None
    resident_id: str | None
    number: str | None
    sip_call_id: str
    call_at: datetime
    audio_ms: int | None
    channels: int | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "facility": self.facility_id, "resident": self.resident_id,
                "number": self.number, "sip_call_id": self.sip_call_id,
                "call_at": self.call_at.isoformat(), "audio_ms": self.audio_ms,
                "channels": self.channels}


@dataclass(frozen=True)
class Export:
    wav: bytes
    sha256: str
    disclosure_id: int
    recording: RecordingView


def _view(r: Recording) -> RecordingView:
    return RecordingView(r.id, r.facility_id, r.resident_id, r.number, r.sip_call_id,
                         r.call_at, r.audio_ms, r.channels)


def _scope(uow: UnitOfWork, actor: Actor) -> frozenset[str] | None:
    """The facilities ``actor`` may reach; None means all of them (administrators)."""
    if actor.role is Role.ADMIN:
        return None
    if actor.user_id is None:
        return frozenset()
    return uow.user_facilities.of(actor.user_id)


def _visible(uow: UnitOfWork, actor: Actor, recording_id: int) -> Recording | None:
    recording = uow.recordings.get(recording_id)
    if recording is None or recording.state is not RecordingState.STORED:
        return None
    scope = _scope(uow, actor)
    if scope is not None and recording.facility_id not in scope:
        return None
    return recording


def _not_found(recording_id: int) -> NotFound:
    # One message for missing, quarantined, destroyed and out of scope alike.
    return NotFound(f"no recording {recording_id}", code="recording_not_found")


def list_recordings(uow_factory: UnitOfWorkFactory, actor: Actor, *, reason: str,
                    now: datetime, facility_id: str | None = None, number: str | None = None,
                    since: datetime | None = None, until: datetime | None = None,
                    limit: int = 100, offset: int = 0, resident_id: str | None = None
                    ) -> Sequence[RecordingView]:
    return search_recordings(
        uow_factory, actor, reason=reason, now=now, facility_id=facility_id, number=number,
        since=since, until=until, limit=limit, offset=offset, resident_id=resident_id).items


def search_recordings(uow_factory: UnitOfWorkFactory, actor: Actor, *, reason: str,
                      now: datetime, facility_id: str | None = None,
                      number: str | None = None, since: datetime | None = None,
                      until: datetime | None = None, limit: int = 100, offset: int = 0,
                      resident_id: str | None = None) -> Page[RecordingView]:
    """The recordings the actor may reach, newest first, one page; the list is audited
    with its reason. ``more`` comes from one row read past the page, which the audit
    does not name: it lists what was shown."""
    check_allowed(actor, Action.RECORDING_READ)
    reason = text("reason", reason)
    if not (1 <= limit <= 1000 and offset >= 0):
        raise InvalidInput("limit must be 1..1000 and offset >= 0", code="invalid_page")
    if number is not None:
        number = normalize(number)
    with uow_factory() as uow:
        found = [_view(r) for r in uow.recordings.visible(
            _scope(uow, actor), facility_id=facility_id, number=number, since=since,
            until=until, limit=limit + 1, offset=offset, resident_id=resident_id)]
        shown = found[:limit]
        audit.record(uow, actor, AuditAction.RECORDING_LIST, "recordings", now, reason=reason,
                     facility=facility_id, resident=resident_id, number=number,
                     since=since.isoformat() if since else None,
                     until=until.isoformat() if until else None, limit=limit, offset=offset,
                     recordings=[v.id for v in shown])
        uow.commit()
    return Page(shown, len(found) > limit, offset, limit)


def play(uow_factory: UnitOfWorkFactory, actor: Actor, vault: Vault, recording_id: int, *,
         reason: str, now: datetime) -> bytes:
    """The recording's WAV, decrypted; its access is audited before any byte is returned."""
    check_allowed(actor, Action.RECORDING_READ)
    reason = text("reason", reason)
    wav, _ = _open(uow_factory, actor, vault, recording_id, AuditAction.RECORDING_PLAY, reason, now)
    return wav


def export(uow_factory: UnitOfWorkFactory, actor: Actor, vault: Vault, recording_id: int, *,
           reason: str, basis_type: str, basis_reference: str, recipient: str,
           now: datetime, deliver: Deliver | None = None) -> Export:
    """Disclose a recording. ``deliver`` hands the WAV over (the CLI writes its file,
    atomically); the disclosure is ledgered only once it has returned. If it raises
    OSError, the audit log says the export failed and there is no disclosure. Without
    ``deliver`` the caller's answer (an HTTP response) is the hand-over."""
    check_allowed(actor, Action.RECORDING_EXPORT)
    reason = text("reason", reason)
    try:
        basis = BasisType(basis_type)
    except ValueError as exc:
        kinds = ", ".join(b.value for b in BasisType)
        raise InvalidInput(f"a disclosure needs a legal basis: one of {kinds}",
                           code="legal_basis_required") from exc
    reference = text("basis reference", basis_reference, limit=200)
    recipient = text("recipient", recipient, limit=200)
    ledger: dict[str, Any] = {"basis_type": basis.value, "basis_reference": reference,
                              "recipient": recipient}
    wav, recording = _open(uow_factory, actor, vault, recording_id, AuditAction.RECORDING_EXPORT,
                           reason, now, disclosure=ledger, deliver=deliver)
    assert recording is not None and "id" in ledger  # noqa: S101 - set by _open on success
    return Export(wav, ledger["sha256"], int(ledger["id"]), _view(recording))


def _open(uow_factory: UnitOfWorkFactory, actor: Actor, vault: Vault, recording_id: int,
          action: AuditAction, reason: str, now: datetime, disclosure: dict[str, Any] | None = None,
          deliver: Deliver | None = None) -> tuple[bytes, Recording | None]:
    """Read and decrypt inside the transaction that audits the access (and, for an
    export, delivers, then ledgers the disclosure). A failed attempt is audited, then
    answered."""
    subject = f"recording:{recording_id}"
    failure: Exception | None = None
    wav = b""
    with uow_factory() as uow:
        recording = _visible(uow, actor, recording_id)
        if recording is None:
            audit.record(uow, actor, action, subject, now, reason=reason, outcome="not_found",
                         **(disclosure or {}))
            failure = _not_found(recording_id)
        else:
            assert recording.blob_id and recording.wrapped_key  # noqa: S101 - stored rows
            try:
                wav = vault.keys.unseal(vault.blobs.get(recording.blob_id),
                                        recording.wrapped_key, recording.spool_key)
            except VaultIOError as exc:
                audit.record(uow, actor, action, subject, now, reason=reason,
                             outcome="unreadable", error=exc.message[:300],
                             **(disclosure or {}))
                failure = Unavailable(f"recording {recording_id} cannot be read now",
                                      code="recording_unreadable")
            else:
                failure = _deliver(uow, actor, action, subject, now, reason, wav, deliver,
                                   disclosure)
            if failure is None:
                details: dict[str, Any] = {"reason": reason, "outcome": "ok",
                                           "facility": recording.facility_id}
                if disclosure is not None:
                    digest = hashlib.sha256(wav).hexdigest()
                    disclosure["id"] = uow.disclosures.add(
                        recording_id, f"{actor.role}:{actor.name}", disclosure["basis_type"],
                        disclosure["basis_reference"], disclosure["recipient"], reason,
                        digest, now)
                    disclosure["sha256"] = digest
                    details |= {"disclosure": disclosure["id"], "sha256": digest,
                                "basis_type": disclosure["basis_type"],
                                "basis_reference": disclosure["basis_reference"],
                                "recipient": disclosure["recipient"]}
                audit.record(uow, actor, action, subject, now, **details)
        uow.commit()
    if failure is not None:
        raise failure
    return wav, recording


def _deliver(uow: UnitOfWork, actor: Actor, action: AuditAction, subject: str, now: datetime,
             reason: str, wav: bytes, deliver: Deliver | None,
             disclosure: dict[str, Any] | None) -> ServiceError | None:
    # The ledger and the audit log record only what happened: a copy that was never
    # written is no disclosure.
    if deliver is None:
        return None
    try:
        deliver(wav)
    except OSError as exc:
        error = f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        audit.record(uow, actor, action, subject, now, reason=reason, outcome="failed",
                     error=error[:300], **(disclosure or {}))
        return InvalidInput(f"the export was not written ({error}); nothing was disclosed",
                            code="export_failed")
    return None


def grant_facility(uow_factory: UnitOfWorkFactory, actor: Actor, *, user_id: int,
                   facility_id: str, now: datetime) -> bool:
    """Let a user reach one facility's recordings; False if they already could."""
    check_allowed(actor, Action.USER_WRITE)
    with uow_factory() as uow:
        if not uow.user_facilities.user_exists(user_id):
            raise NotFound(f"no user {user_id}", code="user_not_found")
        get_facility(uow, facility_id)
        added = uow.user_facilities.grant(user_id, facility_id, now)
        if added:
            audit.record(uow, actor, AuditAction.USER_GRANT_FACILITY, f"user:{user_id}", now,
                         facility=facility_id)
            uow.commit()
    return added


def revoke_facility(uow_factory: UnitOfWorkFactory, actor: Actor, *, user_id: int,
                    facility_id: str, now: datetime) -> bool:
    check_allowed(actor, Action.USER_WRITE)
    with uow_factory() as uow:
        removed = uow.user_facilities.revoke(user_id, facility_id)
        if removed:
            audit.record(uow, actor, AuditAction.USER_REVOKE_FACILITY, f"user:{user_id}", now,
                         facility=facility_id)
            uow.commit()
    return removed


def facilities_of(uow_factory: UnitOfWorkFactory, actor: Actor, user_id: int
                  ) -> frozenset[str]:
    check_allowed(actor, Action.USER_WRITE)
    with uow_factory() as uow:
        return uow.user_facilities.of(user_id)
