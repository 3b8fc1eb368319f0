"""The registry of privileged numbers, its import runs and its review queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, insert, or_, select, update
from sqlalchemy.exc import DBAPIError

from privline.adapters.db import driver as sql
from privline.adapters.db import tables as t
from privline.adapters.db.repositories.base import SqlRepository
from privline.domain.audit_chain import (
    canonical_json,
)
from privline.domain.registry import Entry, Kind, Review, Source, Status
from privline.services.ports.registry import ImportedEntry, NewEntry, RegistryUnavailable

_ENTRY_COLUMNS = [t.registry_entries.c[name] for name in (
    "id", "number", "kind", "holder", "credential", "source", "status", "valid_from",
    "valid_until", "created_at", "review")]


def _entry(row: Row[Any]) -> Entry:
    (id_, number, kind, holder, credential, source, status, valid_from, valid_until,
     created_at, review) = tuple(row)
    return Entry(id_, number, Kind(kind), holder, credential, Source(source), Status(status),
                 valid_from, valid_until, created_at, review)


class SqlRegistry(SqlRepository):
    def entries_for(self, number: str) -> Sequence[Entry]:
        d = self.driver
        try:
            if not d.postgres:
                # A failed statement does not abort an SQLite transaction, so no savepoint:
                # its SAVEPOINT and RELEASE cost more than the read itself.
                rows = d.rows(sql.ENTRIES, (number,))
            else:
                rows = self._entries_in_savepoint(number)
        except DBAPIError as exc:
            raise RegistryUnavailable(str(exc.orig)) from exc
        out = self.driver.time_out
        return [Entry(id_, number_, Kind(kind), holder, credential, Source(source),
                      Status(status), cast(datetime, out(valid_from)), out(valid_until),
                      cast(datetime, out(created_at)))
                for (id_, number_, kind, holder, credential, source, status, valid_from,
                     valid_until, created_at) in rows]

    def _entries_in_savepoint(self, number: str) -> list[tuple[Any, ...]]:
        # A savepoint keeps a failed read from aborting the caller's transaction
        # (PostgreSQL refuses every later statement in an aborted transaction). On the
        # driver: the decision's unit of work has no SQLAlchemy Connection to begin one.
        d = self.driver
        d.rows(sql.REGISTRY_SAVEPOINT, ())
        try:
            rows = d.rows(sql.ENTRIES, (number,))
        except DBAPIError:
            d.rows(sql.REGISTRY_ROLLBACK, ())
            raise
        d.rows(sql.REGISTRY_RELEASE, ())
        return rows

    def get(self, entry_id: int) -> Entry | None:
        row = self.conn.execute(
            select(*_ENTRY_COLUMNS).where(t.registry_entries.c.id == entry_id)).first()
        return None if row is None else _entry(row)

    def add(self, entry: NewEntry, at: datetime) -> Entry:
        # A decision files a resident's registration request through here: on the driver,
        # like the rest of the decision (SQLAlchemy's execution cost more than the INSERT).
        d = self.driver
        row = d.one(sql.ADD_ENTRY, (
            entry.number, entry.kind.value, entry.holder, entry.credential,
            entry.source.value, entry.status.value, d.time_in(entry.valid_from),
            d.time_in(entry.valid_until), d.time_in(at), d.time_in(at)))
        assert row is not None  # noqa: S101 - INSERT ... RETURNING gives the new row
        return Entry(int(row[0]), entry.number, entry.kind, entry.holder, entry.credential,
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
