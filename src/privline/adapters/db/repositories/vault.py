"""SQL implementations of the vault's repositories (ports in services/ports/vault.py)."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    and_,
    delete,
    exists,
    func,
    insert,
    not_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from privline.adapters.db import tables as t
from privline.adapters.db.repositories.base import SqlRepository
from privline.adapters.db.tables import vault as v
from privline.domain.audit_chain import canonical_json
from privline.domain.registry import Status
from privline.domain.vault import (
    BasisType,
    Disclosure,
    Incident,
    IncidentKind,
    LegalHold,
    NewRecording,
    Recording,
    RecordingState,
    VaultPolicy,
)
from privline.services.ports.vault import DuplicateRecording

R = v.recordings.c
_STORED, _QUARANTINED = RecordingState.STORED.value, RecordingState.QUARANTINED.value
_RECORDING_COLUMNS = [R[name] for name in (
    "id", "spool_key", "sip_call_id", "call_id", "facility_id", "resident_id", "number",
    "call_at", "state", "blob_id", "wrapped_key", "audio_ms", "audio_bytes", "channels",
    "indexed_at", "quarantined_at", "destroy_after", "destroyed_at", "destroyed_reason")]
# A recording under a hold nobody has released is never destroyed.
_HELD = exists().where(v.legal_holds.c.recording_id == R.id,
                       v.legal_holds.c.released_at.is_(None))
_CHUNK = 500


def _recording(row: Row[Any]) -> Recording:
    values = dict(row._mapping)
    values["state"] = RecordingState(values["state"])
    if values["wrapped_key"] is not None:
        values["wrapped_key"] = bytes(values["wrapped_key"])
    return Recording(**values)



class SqlRecordings(SqlRepository):
    def get(self, recording_id: int) -> Recording | None:
        row = self.conn.execute(select(*_RECORDING_COLUMNS).where(R.id == recording_id)).first()
        return None if row is None else _recording(row)

    def by_spool_key(self, spool_key: str) -> Recording | None:
        row = self.conn.execute(select(*_RECORDING_COLUMNS)
                                .where(R.spool_key == spool_key)).first()
        return None if row is None else _recording(row)

    def add(self, recording: NewRecording, at: datetime) -> int:
        values = {name: getattr(recording, name) for name in (
            "spool_key", "sip_call_id", "call_id", "facility_id", "resident_id", "number",
            "call_at", "blob_id", "wrapped_key", "master_key_id", "audio_ms", "audio_bytes",
            "channels", "incident_id", "destroyed_reason")}
        values["state"] = recording.state.value
        values["indexed_at"] = at
        if recording.state is RecordingState.DESTROYED:
            values["destroyed_at"] = at
        try:
            # A savepoint: on PostgreSQL a failed INSERT would abort the whole transaction.
            with self.conn.begin_nested():
                return int(self.conn.execute(insert(v.recordings).values(**values)
                                             .returning(R.id)).scalar_one())
        except IntegrityError as exc:
            raise DuplicateRecording(recording.spool_key) from exc

    def lock_number(self, number: str) -> None:
        """Serialise with every transaction that quarantines or indexes ``number``.

        Each of those also appends to the audit chain, whose head row its appender locks
        until commit; taking that same lock *first* is what orders them, and one lock
        taken in one order cannot deadlock (a per-number lock taken after the head by
        one transaction and before it by another did). SQLite: BEGIN IMMEDIATE already
        gave this transaction the only write lock.
        """
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(select(t.audit_head.c.seq).where(t.audit_head.c.id == 1)
                              .with_for_update())

    def stored_for_number(self, number: str) -> Sequence[tuple[int, str | None]]:
        rows = self.conn.execute(select(R.id, R.facility_id)
                                 .where(R.number == number, R.state == _STORED))
        return [(int(r[0]), r[1]) for r in rows]

    def calls_with_recordings(self, sip_call_ids: Sequence[str]) -> set[str]:
        """Which calls have a recording in the vault (stored or quarantined)."""
        found: set[str] = set()
        for first in range(0, len(sip_call_ids), _CHUNK):
            found.update(self.conn.execute(
                select(R.sip_call_id).distinct()
                .where(R.sip_call_id.in_(list(sip_call_ids[first:first + _CHUNK])),
                       R.state != RecordingState.DESTROYED.value)).scalars())
        return found

    def numbers_with_stored(self, numbers: Sequence[str]) -> set[str]:
        """Which of ``numbers`` have a stored recording: one indexed query per chunk."""
        found: set[str] = set()
        for first in range(0, len(numbers), _CHUNK):
            found.update(self.conn.execute(
                select(R.number).distinct()
                .where(R.number.in_(list(numbers[first:first + _CHUNK])), R.state == _STORED)
            ).scalars())
        return found

    def quarantine(self, ids: Sequence[int], at: datetime, destroy_after: datetime,
                   incident_id: int) -> int:
        changed = 0
        for first in range(0, len(ids), _CHUNK):
            result = self.conn.execute(
                update(v.recordings)
                .where(R.id.in_(list(ids[first:first + _CHUNK])), R.state == _STORED)
                .values(state=_QUARANTINED, quarantined_at=at, destroy_after=destroy_after,
                        incident_id=incident_id))
            changed += int(result.rowcount)
        return changed

    def destroy(self, ids: Sequence[int], at: datetime, reason: str) -> None:
        for first in range(0, len(ids), _CHUNK):
            self.conn.execute(
                update(v.recordings).where(R.id.in_(list(ids[first:first + _CHUNK])))
                .values(state=RecordingState.DESTROYED.value, wrapped_key=None,
                        master_key_id=None, destroy_after=None, destroyed_at=at,
                        destroyed_reason=reason))

    def visible(self, facilities: Collection[str] | None, *, facility_id: str | None,
                number: str | None, since: datetime | None, until: datetime | None,
                limit: int, offset: int, resident_id: str | None = None
                ) -> Sequence[Recording]:
        query = select(*_RECORDING_COLUMNS).where(R.state == _STORED)
        if resident_id is not None:
            query = query.where(R.resident_id == resident_id)
        if facilities is not None:
            query = query.where(R.facility_id.in_(sorted(facilities)))
        if facility_id is not None:
            query = query.where(R.facility_id == facility_id)
        if number is not None:
            query = query.where(R.number == number)
        if since is not None:
            query = query.where(R.call_at >= since)
        if until is not None:
            query = query.where(R.call_at < until)
        rows = self.conn.execute(query.order_by(R.call_at.desc(), R.id.desc())
                                 .limit(limit).offset(offset))
        return [_recording(r) for r in rows]

    def due_after_review(self, now: datetime, limit: int) -> Sequence[Recording]:
        rows = self.conn.execute(
            select(*_RECORDING_COLUMNS)
            .where(R.state == _QUARANTINED, R.destroy_after <= now, not_(_HELD))
            .order_by(R.id).limit(limit))
        return [_recording(r) for r in rows]

    def past_retention(self, facility_id: str, cutoff: datetime, limit: int
                       ) -> Sequence[Recording]:
        rows = self.conn.execute(
            select(*_RECORDING_COLUMNS)
            .where(R.facility_id == facility_id, R.state == _STORED, R.call_at < cutoff,
                   not_(_HELD))
            .order_by(R.call_at).limit(limit))
        return [_recording(r) for r in rows]

    def facilities_with_stored(self) -> Sequence[str]:
        rows = self.conn.execute(select(R.facility_id).where(
            R.state == _STORED, R.facility_id.is_not(None)).distinct())
        return sorted(r[0] for r in rows)

    def numbers_needing_quarantine(self) -> Sequence[str]:
        e = t.registry_entries.c
        verified = exists().where(e.number == R.number, e.status == Status.VERIFIED.value)
        rows = self.conn.execute(select(R.number).where(
            R.state == _STORED, R.number.is_not(None), verified).distinct())
        return sorted(r[0] for r in rows)

    def blob_states(self, blob_ids: Collection[str]) -> Mapping[str, RecordingState]:
        found: dict[str, RecordingState] = {}
        wanted = sorted(blob_ids)
        for first in range(0, len(wanted), _CHUNK):
            rows = self.conn.execute(select(R.blob_id, R.state)
                                     .where(R.blob_id.in_(wanted[first:first + _CHUNK])))
            found.update((r[0], RecordingState(r[1])) for r in rows)
        return found

    def live_blob_ids(self, after_id: int, limit: int) -> Sequence[tuple[int, str]]:
        rows = self.conn.execute(
            select(R.id, R.blob_id)
            .where(R.id > after_id, R.state.in_([_STORED, _QUARANTINED]),
                   R.blob_id.is_not(None))
            .order_by(R.id).limit(limit))
        return [(int(r[0]), r[1]) for r in rows]

    def count_by_state(self) -> Mapping[str, int]:
        rows = self.conn.execute(select(R.state, func.count()).group_by(R.state))
        return {r[0]: int(r[1]) for r in rows}


INC = v.incidents.c


class SqlIncidents(SqlRepository):
    def open(self, kind: IncidentKind, *, at: datetime, recordings: int,
             details: Mapping[str, Any], spool_key: str | None = None,
             sip_call_id: str | None = None, facility_id: str | None = None,
             number: str | None = None) -> int:
        return int(self.conn.execute(insert(v.incidents).values(
            kind=kind.value, spool_key=spool_key, sip_call_id=sip_call_id,
            facility_id=facility_id, number=number, recordings=recordings,
            details=canonical_json(dict(details)), opened_at=at).returning(INC.id)).scalar_one())

    def exists(self, kind: IncidentKind, spool_key: str) -> bool:
        return self.conn.execute(select(INC.id).where(
            INC.kind == kind.value, INC.spool_key == spool_key).limit(1)).first() is not None

    def list(self, *, open_only: bool, limit: int, offset: int) -> Sequence[Incident]:
        query = select(INC.id, INC.kind, INC.spool_key, INC.sip_call_id, INC.facility_id,
                       INC.number, INC.recordings, INC.details, INC.opened_at, INC.closed_at)
        if open_only:
            query = query.where(INC.closed_at.is_(None))
        rows = self.conn.execute(query.order_by(INC.id.desc()).limit(limit).offset(offset))
        return [Incident(r[0], IncidentKind(r[1]), r[2], r[3], r[4], r[5], r[6],
                         json.loads(r[7]), r[8], r[9]) for r in rows]


H = v.legal_holds.c


class SqlLegalHolds(SqlRepository):
    def place(self, recording_id: int, basis: str, by: str, at: datetime) -> int:
        return int(self.conn.execute(insert(v.legal_holds).values(
            recording_id=recording_id, basis=basis, placed_by=by, placed_at=at)
            .returning(H.id)).scalar_one())

    def get(self, hold_id: int) -> LegalHold | None:
        row = self.conn.execute(select(H.id, H.recording_id, H.basis, H.placed_by,
                                       H.placed_at, H.released_at)
                                .where(H.id == hold_id)).first()
        return None if row is None else LegalHold(*row)

    def release(self, hold_id: int, by: str, reason: str, at: datetime) -> None:
        self.conn.execute(update(v.legal_holds).where(H.id == hold_id).values(
            released_by=by, released_at=at, release_reason=reason))

    def active_for(self, recording_id: int) -> Sequence[LegalHold]:
        rows = self.conn.execute(select(H.id, H.recording_id, H.basis, H.placed_by,
                                        H.placed_at, H.released_at)
                                 .where(H.recording_id == recording_id,
                                        H.released_at.is_(None)).order_by(H.id))
        return [LegalHold(*r) for r in rows]


D = v.disclosures.c


class SqlDisclosures(SqlRepository):
    def add(self, recording_id: int, actor: str, basis_type: str, basis_reference: str,
            recipient: str, reason: str, sha256: str, at: datetime) -> int:
        return int(self.conn.execute(insert(v.disclosures).values(
            recording_id=recording_id, actor=actor, basis_type=basis_type,
            basis_reference=basis_reference, recipient=recipient, reason=reason,
            sha256=sha256, at=at).returning(D.id)).scalar_one())

    def list(self, recording_id: int | None = None) -> Sequence[Disclosure]:
        query = select(D.id, D.recording_id, D.actor, D.basis_type, D.basis_reference,
                       D.recipient, D.reason, D.sha256, D.at)
        if recording_id is not None:
            query = query.where(D.recording_id == recording_id)
        return [Disclosure(r[0], r[1], r[2], BasisType(r[3]), *r[4:])
                for r in self.conn.execute(query.order_by(D.id))]


S = v.facility_vault_settings.c


class SqlVaultSettings(SqlRepository):
    def get(self, facility_id: str) -> VaultPolicy:
        row = self.conn.execute(select(S.review_days, S.retention_days)
                                .where(S.facility_id == facility_id)).first()
        return VaultPolicy() if row is None else VaultPolicy(int(row[0]), int(row[1]))

    def set(self, facility_id: str, policy: VaultPolicy, at: datetime) -> None:
        values = {"review_days": policy.review_days, "retention_days": policy.retention_days,
                  "updated_at": at}
        changed = self.conn.execute(update(v.facility_vault_settings)
                                    .where(S.facility_id == facility_id).values(**values))
        if not changed.rowcount:
            self.conn.execute(insert(v.facility_vault_settings).values(
                facility_id=facility_id, **values))


U = t.user_facilities.c


class SqlUserFacilities(SqlRepository):
    def user_exists(self, user_id: int) -> bool:
        return self.conn.execute(select(t.users.c.id).where(t.users.c.id == user_id)
                                 ).first() is not None

    def grant(self, user_id: int, facility_id: str, at: datetime) -> bool:
        if facility_id in self.of(user_id):
            return False
        self.conn.execute(insert(t.user_facilities).values(
            user_id=user_id, facility_id=facility_id, granted_at=at))
        return True

    def revoke(self, user_id: int, facility_id: str) -> bool:
        result = self.conn.execute(delete(t.user_facilities).where(
            and_(U.user_id == user_id, U.facility_id == facility_id)))
        return bool(result.rowcount)

    def of(self, user_id: int) -> frozenset[str]:
        rows = self.conn.execute(select(U.facility_id).where(U.user_id == user_id))
        return frozenset(r[0] for r in rows)
