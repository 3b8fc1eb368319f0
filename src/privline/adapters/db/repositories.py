"""SQL implementations of the services' repositories, all on one connection."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection, Row, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError

from privline.adapters.db import driver as sql
from privline.adapters.db import tables as t
from privline.adapters.db.driver import Driver
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
from privline.domain.registry import Entry, Kind, Review, Source, Status
from privline.services.ports.accounts import LedgerLine
from privline.services.ports.audit import Signer
from privline.services.ports.calls import CallRefusal
from privline.services.ports.facilities import Caller
from privline.services.ports.registry import ImportedEntry, NewEntry, RegistryUnavailable


class _Repo:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.driver = Driver(conn)


# The call path's statements run on the driver (driver.py); the rest stay SQLAlchemy Core.
_r = t.residents.c
_FACILITY = select(t.facilities).where(t.facilities.c.id == bindparam("id"))
_RESIDENT = select(_r.id, _r.facility_id, _r.pin_hash, _r.active, _r.failed_pins,
                   _r.locked_until).where(_r.id == bindparam("id"))
_BALANCE = select(_r.balance_cents).where(_r.id == bindparam("id"))
_SAVE_RESIDENT = update(t.residents).where(_r.id == bindparam("rid")).values(
    pin_hash=bindparam("pin_hash"), active=bindparam("active"),
    failed_pins=bindparam("failed_pins"), locked_until=bindparam("locked_until"))


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

    def caller(self, resident_id: str) -> Caller | None:
        row = self.driver.one(sql.CALLER, (resident_id,))
        if row is None:
            return None
        (id_, facility_id, pin_hash, active, failed_pins, locked_until, balance, _, name, kind,
         adp, region, outside, international, unknown, free, rate, max_minutes, reminder,
         phones) = row
        resident = Resident(id_, facility_id, pin_hash, bool(active), failed_pins,
                            self.driver.time_out(locked_until))
        facility = Facility(
            id=facility_id, name=name, kind=FacilityKind(kind), adp=adp, region=region,
            outside_prefix=outside, international_prefix=international,
            unknown_privilege=UnknownPrivilege(unknown), private_calls_free=bool(free),
            rate_per_minute=None if rate is None else Decimal(rate),
            max_call_minutes=max_minutes, reminder_interval_s=reminder,
            phones=tuple(p for p in phones.split(",") if p))
        return Caller(resident, facility, int(balance or 0))

    def add(self, resident: Resident, at: datetime) -> None:
        self.conn.execute(insert(t.residents).values(
            id=resident.id, facility_id=resident.facility_id, pin_hash=resident.pin_hash,
            active=resident.active, failed_pins=resident.failed_pins,
            locked_until=resident.locked_until, balance_cents=0, created_at=at))

    def save(self, resident: Resident) -> None:
        self.conn.execute(_SAVE_RESIDENT, {
            "rid": resident.id, "pin_hash": resident.pin_hash, "active": resident.active,
            "failed_pins": resident.failed_pins, "locked_until": resident.locked_until})


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
        return self.driver.one(sql.BLOCKED, (number, facility_id, resident_id)) is not None

    def add(self, facility_id: str, resident_id: str | None, number: str, reason: str,
            at: datetime) -> None:
        self.conn.execute(insert(t.blocked_numbers).values(
            facility_id=facility_id, resident_id=resident_id, number=number, reason=reason,
            created_at=at))


_ENTRY_COLUMNS = [t.registry_entries.c[name] for name in (
    "id", "number", "kind", "holder", "credential", "source", "status", "valid_from",
    "valid_until", "created_at", "review")]


_ADD_ENTRY = insert(t.registry_entries).returning(t.registry_entries.c.id)


def _entry(row: Row[Any]) -> Entry:
    (id_, number, kind, holder, credential, source, status, valid_from, valid_until,
     created_at, review) = tuple(row)
    return Entry(id_, number, Kind(kind), holder, credential, Source(source), Status(status),
                 valid_from, valid_until, created_at, review)


class SqlRegistry(_Repo):
    def entries_for(self, number: str) -> Sequence[Entry]:
        try:
            if not self.driver.postgres:
                # A failed statement does not abort an SQLite transaction, so no savepoint:
                # its SAVEPOINT and RELEASE cost more than the read itself.
                rows = self.driver.rows(sql.ENTRIES, (number,))
            else:
                # A savepoint keeps a failed read from aborting the caller's transaction
                # (PostgreSQL refuses every later statement in an aborted transaction).
                with self.conn.begin_nested():
                    rows = self.driver.rows(sql.ENTRIES, (number,))
        except DBAPIError as exc:
            raise RegistryUnavailable(str(exc.orig)) from exc
        out = self.driver.time_out
        return [Entry(id_, number_, Kind(kind), holder, credential, Source(source),
                      Status(status), cast(datetime, out(valid_from)), out(valid_until),
                      cast(datetime, out(created_at)))
                for (id_, number_, kind, holder, credential, source, status, valid_from,
                     valid_until, created_at) in rows]

    def get(self, entry_id: int) -> Entry | None:
        row = self.conn.execute(
            select(*_ENTRY_COLUMNS).where(t.registry_entries.c.id == entry_id)).first()
        return None if row is None else _entry(row)

    def add(self, entry: NewEntry, at: datetime) -> Entry:
        # A decision stores a resident's registration request through here: one prebuilt
        # statement, since building .values() and its cache key costs milliseconds.
        entry_id = self.conn.execute(_ADD_ENTRY, {
            "number": entry.number, "kind": entry.kind.value, "holder": entry.holder,
            "credential": entry.credential, "source": entry.source.value,
            "status": entry.status.value, "valid_from": entry.valid_from,
            "valid_until": entry.valid_until, "note": "", "created_at": at,
            "updated_at": at}).scalar_one()
        return Entry(entry_id, entry.number, entry.kind, entry.holder, entry.credential,
                     entry.source, entry.status, entry.valid_from, entry.valid_until, at)

    def set_status(self, entry_id: int, status: Status, at: datetime, note: str, *,
                   kind: Kind | None = None, valid_until: datetime | None = None) -> None:
        # A staff decision (or a re-verification) settles any review the entry was in.
        values: dict[str, object] = {"status": status.value, "note": note, "updated_at": at,
                                     "review": None, "review_since": None}
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

    def mark_seen(self, entry_ids: Sequence[int], run_id: int) -> None:
        if entry_ids:
            # Listed again: whatever review the directory had sent it to is over.
            self.conn.execute(update(t.registry_entries)
                              .where(t.registry_entries.c.id.in_(list(entry_ids)))
                              .values(last_seen_run=run_id, review=None, review_since=None))

    def send_to_review(self, entry_ids: Sequence[int], review: Review, at: datetime) -> None:
        if entry_ids:
            c = t.registry_entries.c
            self.conn.execute(update(t.registry_entries)
                              .where(c.id.in_(list(entry_ids)))
                              .values(review=review.value, review_since=at))

    def _unseen(self, origin: str, run_id: int) -> Any:
        c = t.registry_entries.c
        return (c.origin == origin, c.status == Status.VERIFIED.value, c.review.is_(None),
                or_(c.last_seen_run.is_(None), c.last_seen_run != run_id))

    def unseen_to_review(self, origin: str, run_id: int, review: Review, at: datetime) -> int:
        result = self.conn.execute(update(t.registry_entries)
                                   .where(*self._unseen(origin, run_id))
                                   .values(review=review.value, review_since=at))
        return int(result.rowcount)

    def unseen_ids(self, origin: str, run_id: int) -> set[int]:
        return set(self.conn.execute(select(t.registry_entries.c.id)
                                     .where(*self._unseen(origin, run_id))).scalars())

    def in_review(self, limit: int = 100, offset: int = 0) -> Sequence[Entry]:
        c = t.registry_entries.c
        return [_entry(r) for r in self.conn.execute(
            select(*_ENTRY_COLUMNS).where(c.review.is_not(None), c.status == Status.VERIFIED.value)
            .order_by(c.review_since, c.id).limit(limit).offset(offset))]

    def settle_review(self, entry_id: int, at: datetime, note: str) -> None:
        self.conn.execute(update(t.registry_entries).where(t.registry_entries.c.id == entry_id)
                          .values(review=None, review_since=None, note=note, updated_at=at))


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
        head = self.driver.one(sql.AUDIT_HEAD, ())
        assert head is not None  # noqa: S101 - the migration makes the head row
        seq, prev = head[0] + 1, head[1]
        at = event.at.astimezone(UTC)
        details = canonical_json(event.details)
        digest = chain_hash(prev, entry_bytes(seq, at, event.actor, event.action, event.subject,
                                               details))
        row = (seq, self.driver.time_in(at), event.actor, event.action, event.subject, details,
               prev, digest)
        if self.driver.postgres:
            self.driver.rows(sql.AUDIT_EVENT_AND_HEAD, (*row, seq, digest))
        else:
            self.driver.rows(sql.AUDIT_EVENT, row)
            self.driver.rows(sql.AUDIT_MOVE_HEAD, (seq, digest))
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


_REFUSAL_COLUMNS = [t.call_refusals.c[name] for name in (
    "sip_call_id", "at", "facility_id", "resident_id", "dialled", "reason", "sip_code")]


class SqlCalls(_Repo):
    def add(self, at: datetime, facility_id: str, resident_id: str, dialled: str,
            private_requested: bool, decision: Decision, sip_call_id: str | None = None
            ) -> int | None:
        found = self.driver.one(sql.ADD_CALL, (
            sip_call_id, self.driver.time_in(at), facility_id, resident_id, dialled[:64],
            decision.number, private_requested, decision.mode.value, decision.reason.value,
            self.driver.decimal_in(decision.rate_per_minute), decision.max_minutes,
            decision.review))
        record_id = None if found is None else found[0]
        return None if record_id is None else int(record_id)

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

    def claim_event(self, sip_call_id: str, kind: str, seq: int, at: datetime) -> bool:
        """Note one switch event; False when it was applied before (a replay). The
        unique key stops two concurrent appliers; only the call agent applies events."""
        e = t.call_events.c
        seen = self.conn.execute(select(e.id).where(
            e.sip_call_id == sip_call_id, e.kind == kind, e.seq == seq)).first()
        if seen is not None:
            return False
        self.conn.execute(insert(t.call_events).values(
            sip_call_id=sip_call_id, kind=kind, seq=seq, at=at))
        return True

    def add_refusal(self, refusal: CallRefusal) -> None:
        self.conn.execute(insert(t.call_refusals).values(
            sip_call_id=refusal.sip_call_id, at=refusal.at, facility_id=refusal.facility_id,
            resident_id=refusal.resident_id, dialled=refusal.dialled, reason=refusal.reason,
            sip_code=refusal.sip_code))

    def refusal(self, sip_call_id: str) -> CallRefusal | None:
        row = self.conn.execute(select(*_REFUSAL_COLUMNS).where(
            t.call_refusals.c.sip_call_id == sip_call_id)).first()
        return None if row is None else CallRefusal(**row._mapping)

    def refusals(self, limit: int = 100, offset: int = 0, facility_id: str | None = None
                 ) -> Sequence[CallRefusal]:
        query = select(*_REFUSAL_COLUMNS)
        if facility_id is not None:
            query = query.where(t.call_refusals.c.facility_id == facility_id)
        rows = self.conn.execute(query.order_by(t.call_refusals.c.id.desc()).limit(limit)
                                 .offset(offset)).all()
        return [CallRefusal(**r._mapping) for r in rows]

    def open_calls(self) -> Sequence[CallRecord]:
        c = t.calls.c
        rows = self.conn.execute(select(*_CALL_COLUMNS).where(
            c.sip_call_id.is_not(None), c.ended_at.is_(None), c.mode != "denied")
            .order_by(c.id)).all()
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
