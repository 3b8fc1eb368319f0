"""SQL implementations of the services' repositories, all on one connection."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError

from privline.adapters.db import tables as t
from privline.domain.audit_chain import (
    ChainEntry,
    Checkpoint,
    canonical_json,
    chain_hash,
    checkpoint_message,
    entry_bytes,
)
from privline.domain.model import AuditEvent, CallRecord, Facility, Resident, WarningPlayed
from privline.domain.policy import Decision, UnknownPrivilege
from privline.domain.rates import FacilityKind
from privline.domain.registry import Entry, Kind, Source, Status
from privline.services.ports import (
    ImportedEntry,
    LedgerLine,
    NewEntry,
    RegistryUnavailable,
    Signer,
)


class _Repo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn


# The statements a call decision runs are built once, with bound parameters: building a
# Core statement and computing its cache key on every call costs more than running it
# (bench/bench_decisions.py).
_r, _b, _h = t.residents.c, t.blocked_numbers.c, t.audit_head.c
_FACILITY = select(t.facilities).where(t.facilities.c.id == bindparam("id"))
_RESIDENT = select(_r.id, _r.facility_id, _r.pin_hash, _r.active, _r.failed_pins,
                   _r.locked_until).where(_r.id == bindparam("id"))
_BALANCE = select(_r.balance_cents).where(_r.id == bindparam("id"))
_BLOCKED = select(_b.id).where(
    _b.number == bindparam("number"), _b.facility_id == bindparam("facility_id"),
    or_(_b.resident_id.is_(None), _b.resident_id == bindparam("resident_id"))).limit(1)
_HEAD = select(_h.seq, _h.hash).where(_h.id == 1).with_for_update()
_ADD_EVENT = insert(t.audit_events)
_MOVE_HEAD = update(t.audit_head).where(_h.id == 1).values(
    seq=bindparam("new_seq"), hash=bindparam("new_hash"))


class SqlFacilities(_Repo):
    def get(self, facility_id: str) -> Facility | None:
        row = self.conn.execute(_FACILITY, {"id": facility_id}).first()
        return None if row is None else _facility(row)

    def add(self, facility: Facility, at: datetime) -> None:
        values = {c.name: getattr(facility, c.name) for c in t.facilities.c
                  if c.name not in ("phones", "created_at")}
        self.conn.execute(insert(t.facilities).values(
            **values, phones=",".join(facility.phones), created_at=at))

    def list(self) -> Sequence[Facility]:
        rows = self.conn.execute(select(t.facilities).order_by(t.facilities.c.id))
        return [_facility(r) for r in rows]


def _facility(row: Row[Any]) -> Facility:
    m = row._mapping
    return Facility(
        id=m["id"], name=m["name"], kind=FacilityKind(m["kind"]), adp=m["adp"],
        region=m["region"], outside_prefix=m["outside_prefix"],
        international_prefix=m["international_prefix"],
        unknown_privilege=UnknownPrivilege(m["unknown_privilege"]),
        private_calls_free=m["private_calls_free"], rate_per_minute=m["rate_per_minute"],
        max_call_minutes=m["max_call_minutes"], reminder_interval_s=m["reminder_interval_s"],
        phones=tuple(p for p in m["phones"].split(",") if p),
    )


class SqlResidents(_Repo):
    def get(self, resident_id: str) -> Resident | None:
        row = self.conn.execute(_RESIDENT, {"id": resident_id}).first()
        return None if row is None else Resident(*row)

    def add(self, resident: Resident, at: datetime) -> None:
        self.conn.execute(insert(t.residents).values(
            id=resident.id, facility_id=resident.facility_id, pin_hash=resident.pin_hash,
            active=resident.active, failed_pins=resident.failed_pins,
            locked_until=resident.locked_until, balance_cents=0, created_at=at))

    def save(self, resident: Resident) -> None:
        self.conn.execute(update(t.residents).where(t.residents.c.id == resident.id).values(
            active=resident.active, failed_pins=resident.failed_pins,
            locked_until=resident.locked_until))


class SqlAccounts(_Repo):
    def balance(self, resident_id: str) -> int:
        value = self.conn.execute(_BALANCE, {"id": resident_id}).scalar_one_or_none()
        return int(value or 0)

    def post(self, line: LedgerLine) -> int:
        self.conn.execute(insert(t.ledger).values(
            resident_id=line.resident_id, kind=line.kind, amount_cents=line.amount_cents,
            call_id=line.call_id, memo=line.memo, at=line.at))
        # One UPDATE ... RETURNING keeps the balance and the ledger consistent under
        # concurrent posts on both SQLite and PostgreSQL.
        return int(self.conn.execute(
            update(t.residents).where(t.residents.c.id == line.resident_id)
            .values(balance_cents=t.residents.c.balance_cents + line.amount_cents)
            .returning(t.residents.c.balance_cents)).scalar_one())


    def charged_for(self, call_id: str) -> int:
        value = self.conn.execute(select(func.coalesce(func.sum(t.ledger.c.amount_cents), 0))
                                  .where(t.ledger.c.call_id == call_id)).scalar_one()
        return int(value)


class SqlBlocks(_Repo):
    def is_blocked(self, facility_id: str, resident_id: str, number: str) -> bool:
        row = self.conn.execute(_BLOCKED, {"number": number, "facility_id": facility_id,
                                           "resident_id": resident_id}).first()
        return row is not None

    def add(self, facility_id: str, resident_id: str | None, number: str, reason: str,
            at: datetime) -> None:
        self.conn.execute(insert(t.blocked_numbers).values(
            facility_id=facility_id, resident_id=resident_id, number=number, reason=reason,
            created_at=at))


_ENTRY_COLUMNS = [t.registry_entries.c[name] for name in (
    "id", "number", "kind", "holder", "credential", "source", "status", "valid_from",
    "valid_until", "created_at")]


_ENTRIES_BY_NUMBER = select(*_ENTRY_COLUMNS).where(
    t.registry_entries.c.number == bindparam("number"))


def _entry(row: Row[Any]) -> Entry:
    (id_, number, kind, holder, credential, source, status, valid_from, valid_until,
     created_at) = tuple(row)
    return Entry(id_, number, Kind(kind), holder, credential, Source(source), Status(status),
                 valid_from, valid_until, created_at)


class SqlRegistry(_Repo):
    def entries_for(self, number: str) -> Sequence[Entry]:
        params = {"number": number}
        try:
            if self.conn.dialect.name == "sqlite":
                # A failed statement does not abort an SQLite transaction, so no savepoint:
                # its SAVEPOINT and RELEASE cost more than the read itself.
                rows = self.conn.execute(_ENTRIES_BY_NUMBER, params).all()
            else:
                # A savepoint keeps a failed read from aborting the caller's transaction
                # (PostgreSQL refuses every later statement in an aborted transaction).
                with self.conn.begin_nested():
                    rows = self.conn.execute(_ENTRIES_BY_NUMBER, params).all()
        except DBAPIError as exc:
            raise RegistryUnavailable(str(exc.orig)) from exc
        return [_entry(r) for r in rows]

    def get(self, entry_id: int) -> Entry | None:
        row = self.conn.execute(
            select(*_ENTRY_COLUMNS).where(t.registry_entries.c.id == entry_id)).first()
        return None if row is None else _entry(row)

    def add(self, entry: NewEntry, at: datetime) -> Entry:
        entry_id = self.conn.execute(insert(t.registry_entries).values(
            number=entry.number, kind=entry.kind.value, holder=entry.holder,
            credential=entry.credential, source=entry.source.value, status=entry.status.value,
            valid_from=entry.valid_from, valid_until=entry.valid_until, note="",
            created_at=at, updated_at=at).returning(t.registry_entries.c.id)).scalar_one()
        return Entry(entry_id, entry.number, entry.kind, entry.holder, entry.credential,
                     entry.source, entry.status, entry.valid_from, entry.valid_until, at)

    def set_status(self, entry_id: int, status: Status, at: datetime, note: str, *,
                   kind: Kind | None = None, valid_until: datetime | None = None) -> None:
        values: dict[str, object] = {"status": status.value, "note": note, "updated_at": at}
        if kind is not None:
            values["kind"] = kind.value
        if valid_until is not None:
            values["valid_until"] = valid_until
        self.conn.execute(update(t.registry_entries).where(t.registry_entries.c.id == entry_id)
                          .values(**values))

    def expiring(self, before: datetime) -> Sequence[Entry]:
        c = t.registry_entries.c
        return [_entry(r) for r in self.conn.execute(
            select(*_ENTRY_COLUMNS).where(c.status == Status.VERIFIED.value,
                                          c.valid_until.is_not(None), c.valid_until < before)
            .order_by(c.valid_until))]

    def list(self, status: Status | None = None, limit: int = 100, offset: int = 0
             ) -> Sequence[Entry]:
        query = select(*_ENTRY_COLUMNS).order_by(t.registry_entries.c.id)
        if status is not None:
            query = query.where(t.registry_entries.c.status == status.value)
        return [_entry(r) for r in self.conn.execute(query.limit(limit).offset(offset))]


    def start_import_run(self, origin: str, file_name: str, at: datetime) -> int:
        return int(self.conn.execute(insert(t.import_runs).values(
            origin=origin, file_name=file_name[-300:], started_at=at)
            .returning(t.import_runs.c.id)).scalar_one())

    def finish_import_run(self, run_id: int, at: datetime, summary: dict[str, object]) -> None:
        self.conn.execute(update(t.import_runs).where(t.import_runs.c.id == run_id)
                          .values(finished_at=at, summary=canonical_json(summary)))

    def imported_entries(self, origin: str, credentials: Sequence[str]
                         ) -> Sequence[ImportedEntry]:
        c = t.registry_entries.c
        rows = self.conn.execute(
            select(c.id, c.credential, c.number, c.status, c.kind, c.holder, c.note)
            .where(c.origin == origin, c.credential.in_(list(credentials))))
        return [ImportedEntry(r[0], r[1], r[2], Status(r[3]), Kind(r[4]), r[5],
                              r[6].startswith(IMPORT_NOTE)) for r in rows]

    def add_imported(self, entries: Sequence[NewEntry], origin: str, run_id: int,
                     at: datetime) -> None:
        if entries:
            self.conn.execute(insert(t.registry_entries), [{
                "number": e.number, "kind": e.kind.value, "holder": e.holder,
                "credential": e.credential, "source": e.source.value,
                "status": e.status.value, "valid_from": e.valid_from,
                "valid_until": e.valid_until, "note": "", "created_at": at, "updated_at": at,
                "origin": origin, "last_seen_run": run_id} for e in entries])

    def mark_seen(self, entry_ids: Sequence[int], run_id: int, status: Status, at: datetime,
                  note: str | None = None) -> None:
        if entry_ids:
            values: dict[str, object] = {"last_seen_run": run_id, "status": status.value}
            if note is not None:
                values.update(note=note, updated_at=at)
            self.conn.execute(update(t.registry_entries)
                              .where(t.registry_entries.c.id.in_(list(entry_ids)))
                              .values(**values))

    def revoke_imported(self, entry_ids: Sequence[int], at: datetime, note: str) -> None:
        if entry_ids:
            self.conn.execute(update(t.registry_entries)
                              .where(t.registry_entries.c.id.in_(list(entry_ids)))
                              .values(status=Status.REVOKED.value, note=IMPORT_NOTE + note,
                                      updated_at=at))

    def revoke_unseen(self, origin: str, run_id: int, at: datetime, note: str) -> int:
        c = t.registry_entries.c
        result = self.conn.execute(
            update(t.registry_entries)
            .where(c.origin == origin, c.status.in_([Status.VERIFIED.value,
                                                     Status.PENDING.value]),
                   or_(c.last_seen_run.is_(None), c.last_seen_run != run_id))
            .values(status=Status.REVOKED.value, note=IMPORT_NOTE + note, updated_at=at))
        return int(result.rowcount)


# Revocations an import makes carry this prefix; an import may undo only those, never
# a revocation staff made.
IMPORT_NOTE = "import: "


class SqlAudit(_Repo):
    """Appends to the hash chain; checkpoints are signed every ``checkpoint_every``."""

    def __init__(self, conn: Connection, signer: Signer | None = None,
                 checkpoint_every: int = 1000) -> None:
        super().__init__(conn)
        self.signer = signer
        self.checkpoint_every = checkpoint_every

    def append(self, event: AuditEvent) -> int:
        # FOR UPDATE serialises appenders on PostgreSQL; SQLite's BEGIN IMMEDIATE already
        # gives this transaction the only write lock.
        seq, prev = self.conn.execute(_HEAD).one()
        seq += 1
        at = event.at.astimezone(UTC)
        details = canonical_json(event.details)
        digest = chain_hash(prev, entry_bytes(seq, at, event.actor, event.action, event.subject,
                                               details))
        self.conn.execute(_ADD_EVENT, {
            "seq": seq, "at": at, "actor": event.actor, "action": event.action,
            "subject": event.subject, "details": details, "prev_hash": prev, "hash": digest})
        self.conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_hash": digest})
        if self.signer is not None and seq % self.checkpoint_every == 0:
            self._checkpoint(seq, digest, at)
        return int(seq)

    def checkpoint(self, at: datetime) -> Checkpoint | None:
        """Sign the current head (None when the chain is empty or no key is set)."""
        seq, digest = self.conn.execute(select(t.audit_head.c.seq, t.audit_head.c.hash)
                                        .where(t.audit_head.c.id == 1).with_for_update()).one()
        if seq == 0 or self.signer is None:
            return None
        existing = self.conn.execute(select(t.audit_checkpoints.c.seq)
                                     .where(t.audit_checkpoints.c.seq == seq)).first()
        if existing is None:
            self._checkpoint(seq, digest, at)
        return next(c for c in self.checkpoints() if c.seq == seq)

    def _checkpoint(self, seq: int, digest: str, at: datetime) -> None:
        assert self.signer is not None  # noqa: S101 - both callers check it
        signature = self.signer.sign(checkpoint_message(seq, digest))
        self.conn.execute(insert(t.audit_checkpoints).values(
            seq=seq, hash=digest, signature=signature.hex(), key_id=self.signer.key_id, at=at))

    def entries(self, batch: int = 5000) -> Iterator[ChainEntry]:
        """Every entry in chain order, read in batches to bound memory."""
        c = t.audit_events.c
        last = 0
        while True:
            rows = self.conn.execute(
                select(c.seq, c.at, c.actor, c.action, c.subject, c.details, c.prev_hash,
                       c.hash).where(c.seq > last).order_by(c.seq).limit(batch)).all()
            if not rows:
                return
            for row in rows:
                yield ChainEntry(*row)
            last = rows[-1][0]

    def checkpoints(self) -> list[Checkpoint]:
        c = t.audit_checkpoints.c
        rows = self.conn.execute(select(c.seq, c.hash, c.signature, c.key_id, c.at)
                                 .order_by(c.seq))
        return [Checkpoint(r[0], r[1], bytes.fromhex(r[2]), r[3], r[4]) for r in rows]

    def count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(t.audit_events))
                   .scalar_one())


_CALL_COLUMNS = [t.calls.c[name] for name in (
    "id", "sip_call_id", "at", "facility_id", "resident_id", "number", "mode", "reason",
    "rate_per_minute", "max_minutes", "review", "answered_at", "ended_at", "duration_s",
    "charge_cents", "end_reason", "fault")]


_ADD_CALL = insert(t.calls).returning(t.calls.c.id)


class SqlCalls(_Repo):
    def add(self, at: datetime, facility_id: str, resident_id: str, dialled: str,
            private_requested: bool, decision: Decision, sip_call_id: str | None = None) -> int:
        return int(self.conn.execute(_ADD_CALL, {
            "sip_call_id": sip_call_id, "at": at, "facility_id": facility_id,
            "resident_id": resident_id, "dialled": dialled[:64], "number": decision.number,
            "private_requested": private_requested, "mode": decision.mode.value,
            "reason": decision.reason.value, "rate_per_minute": decision.rate_per_minute,
            "max_minutes": decision.max_minutes, "review": decision.review}).scalar_one())

    def get(self, sip_call_id: str) -> CallRecord | None:
        row = self.conn.execute(select(*_CALL_COLUMNS)
                                .where(t.calls.c.sip_call_id == sip_call_id)).first()
        return None if row is None else self._with_warnings([row])[0]

    def update(self, call_id: int, **fields: object) -> None:
        self.conn.execute(update(t.calls).where(t.calls.c.id == call_id).values(**fields))

    def add_warning(self, call_id: int, warning: WarningPlayed) -> None:
        self.conn.execute(insert(t.call_warnings).values(
            call_id=call_id, at=warning.at, prompt=warning.prompt,
            evidence=canonical_json(warning.evidence)))

    def list(self, limit: int = 100, offset: int = 0, facility_id: str | None = None
             ) -> Sequence[CallRecord]:
        query = select(*_CALL_COLUMNS).where(t.calls.c.sip_call_id.is_not(None))
        if facility_id is not None:
            query = query.where(t.calls.c.facility_id == facility_id)
        rows = self.conn.execute(query.order_by(t.calls.c.id.desc()).limit(limit)
                                 .offset(offset)).all()
        return self._with_warnings(rows)

    def _with_warnings(self, rows: Sequence[Row[Any]]) -> Sequence[CallRecord]:
        ids = [r[0] for r in rows]
        warnings: dict[int, builtins.list[WarningPlayed]] = {i: [] for i in ids}
        if ids:
            w = t.call_warnings.c
            for call_id, at, prompt, evidence in self.conn.execute(
                    select(w.call_id, w.at, w.prompt, w.evidence)
                    .where(w.call_id.in_(ids)).order_by(w.id)):
                warnings[call_id].append(WarningPlayed(at, prompt, json.loads(evidence)))
        return [CallRecord(**dict(r._mapping), warnings=tuple(warnings[r[0]])) for r in rows]
