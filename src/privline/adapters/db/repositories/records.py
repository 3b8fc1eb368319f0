"""SQL for the console's lists and shows (the port is services/records_ports.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from privline.adapters.db import tables as t
from privline.adapters.db.repositories.calls import _CALL_COLUMNS, _REFUSAL_COLUMNS, SqlCalls
from privline.adapters.db.repositories.registry import _ENTRY_COLUMNS, _entry
from privline.adapters.db.tables import compliance as rt
from privline.domain.model import CallRecord, Facility
from privline.domain.registry import Entry, Status
from privline.services.ports.calls import CallRefusal
from privline.services.ports.records import (
    AuditRecord,
    BlockRow,
    CallFilter,
    KeptStatement,
    LedgerRow,
    LogPosition,
    RefusalRow,
    ResidentRow,
)

_r, _b, _c = t.residents.c, t.blocked_numbers.c, t.calls.c
_RESIDENT_COLUMNS = (_r.id, _r.facility_id, _r.active, _r.failed_pins, _r.locked_until,
                     _r.balance_cents, _r.created_at)
_BLOCK_COLUMNS = (_b.id, _b.facility_id, _b.resident_id, _b.number, _b.reason, _b.created_at)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlRecords:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- residents and their accounts

    def residents(self, facility_id: str | None, query: str | None, limit: int,
                  offset: int) -> Sequence[ResidentRow]:
        stmt = select(*_RESIDENT_COLUMNS).order_by(_r.id)
        if facility_id is not None:
            stmt = stmt.where(_r.facility_id == facility_id)
        if query:
            stmt = stmt.where(_r.id.ilike(_like(query), escape="\\"))
        return [ResidentRow(*row) for row in self.conn.execute(stmt.limit(limit).offset(offset))]

    def resident(self, resident_id: str) -> ResidentRow | None:
        row = self.conn.execute(select(*_RESIDENT_COLUMNS).where(_r.id == resident_id)).first()
        return None if row is None else ResidentRow(*row)

    def set_pin_hash(self, resident_id: str, pin_hash: str) -> None:
        self.conn.execute(update(t.residents).where(_r.id == resident_id)
                          .values(pin_hash=pin_hash, failed_pins=0, locked_until=None))

    def move_resident(self, resident_id: str, facility_id: str) -> None:
        self.conn.execute(update(t.residents).where(_r.id == resident_id)
                          .values(facility_id=facility_id))

    def ledger(self, resident_id: str, limit: int) -> Sequence[LedgerRow]:
        c = t.ledger.c
        rows = self.conn.execute(
            select(c.id, c.kind, c.amount_cents, c.at, c.memo, c.call_id)
            .where(c.resident_id == resident_id).order_by(c.id.desc()).limit(limit))
        return [LedgerRow(*row) for row in rows]

    def locked_count(self, now: datetime) -> int:
        return int(self.conn.execute(select(func.count()).select_from(t.residents)
                                     .where(_r.locked_until > now)).scalar_one())

    # --- facilities

    def update_facility(self, facility: Facility) -> None:
        values = {c.name: getattr(facility, c.name) for c in t.facilities.c
                  if c.name not in ("id", "phones", "created_at")}
        self.conn.execute(update(t.facilities).where(t.facilities.c.id == facility.id)
                          .values(**values, phones=",".join(facility.phones)))

    # --- blocks

    def blocks(self, facility_id: str | None, limit: int, offset: int) -> Sequence[BlockRow]:
        stmt = select(*_BLOCK_COLUMNS).order_by(_b.id)
        if facility_id is not None:
            stmt = stmt.where(_b.facility_id == facility_id)
        return [BlockRow(*row) for row in self.conn.execute(stmt.limit(limit).offset(offset))]

    def block(self, block_id: int) -> BlockRow | None:
        row = self.conn.execute(select(*_BLOCK_COLUMNS).where(_b.id == block_id)).first()
        return None if row is None else BlockRow(*row)

    def find_block(self, facility_id: str, resident_id: str | None, number: str
                   ) -> int | None:
        who = _b.resident_id.is_(None) if resident_id is None else _b.resident_id == resident_id
        found = self.conn.execute(select(_b.id).where(
            _b.facility_id == facility_id, _b.number == number, who).limit(1)).scalar()
        return None if found is None else int(found)

    def remove_block(self, block_id: int) -> None:
        self.conn.execute(delete(t.blocked_numbers).where(_b.id == block_id))

    # --- calls

    def calls(self, where: CallFilter, limit: int, offset: int,
              after: LogPosition | None = None) -> Sequence[CallRecord]:
        stmt = _log_query(select(*_CALL_COLUMNS), t.calls, "call", where, after,
                          number=where.number, mode=where.mode)
        rows = self.conn.execute(stmt.limit(limit).offset(offset)).all()
        return SqlCalls(self.conn)._with_warnings(rows)

    def refusals(self, where: CallFilter, limit: int, after: LogPosition | None = None
                 ) -> Sequence[RefusalRow]:
        f = t.call_refusals.c
        stmt = _log_query(select(f.id, *_REFUSAL_COLUMNS), t.call_refusals, "refusal", where,
                          after)
        rows = self.conn.execute(stmt.limit(limit)).all()
        return [RefusalRow(row[0], CallRefusal(*row[1:])) for row in rows]

    def log_position(self, kind: str, row_id: int) -> LogPosition | None:
        table = t.calls if kind == "call" else t.call_refusals
        at = self.conn.execute(select(table.c.at).where(table.c.id == row_id)).scalar()
        return None if at is None else LogPosition(at, kind, row_id)

    def call(self, call_id: int) -> CallRecord | None:
        row = self.conn.execute(select(*_CALL_COLUMNS).where(_c.id == call_id)).first()
        return None if row is None else SqlCalls(self.conn)._with_warnings([row])[0]

    def calls_by_mode(self, since: datetime, until: datetime) -> Mapping[str, int]:
        rows = self.conn.execute(select(_c.mode, func.count()).where(
            _c.at >= since, _c.at < until).group_by(_c.mode))
        return {mode: int(n) for mode, n in rows}

    # --- the registry

    def search_registry(self, query: str | None, limit: int, offset: int) -> Sequence[Entry]:
        e = t.registry_entries.c
        stmt = select(*_ENTRY_COLUMNS).order_by(e.number, e.id)
        if query:
            pattern = _like(query)
            digits = "".join(ch for ch in query if ch.isdigit())
            conditions = [e.holder.ilike(pattern, escape="\\"),
                          e.credential.ilike(pattern, escape="\\")]
            if len(digits) >= 3:
                conditions.append(e.number.like(_like(digits), escape="\\"))
            stmt = stmt.where(or_(*conditions))
        return [_entry(row) for row in self.conn.execute(stmt.limit(limit).offset(offset))]

    def registry_pending(self) -> int:
        e = t.registry_entries.c
        return int(self.conn.execute(select(func.count()).select_from(t.registry_entries)
                                     .where(e.status == Status.PENDING.value)).scalar_one())

    # --- the audit log

    def audit_events(self, *, subject: str | None, action_prefix: str | None, limit: int,
                     offset: int) -> Sequence[AuditRecord]:
        a = t.audit_events.c
        stmt = select(a.seq, a.at, a.actor, a.action, a.subject, a.details)
        if subject is not None:
            stmt = stmt.where(a.subject == subject)
        if action_prefix is not None:
            stmt = stmt.where(a.action.like(_like(action_prefix)[1:], escape="\\"))
        rows = self.conn.execute(stmt.order_by(a.seq.desc()).limit(limit).offset(offset))
        return [AuditRecord(seq, at, actor, action, subj, json.loads(details))
                for seq, at, actor, action, subj, details in rows]

    # --- statements handed out

    def keep_statement(self, period: str, issued_at: datetime, sha256: str, body: bytes,
                       signature: bytes, all_facilities: bool) -> int:
        return int(self.conn.execute(insert(rt.statements).values(
            period=period, issued_at=issued_at, sha256=sha256, body=body.decode("utf-8"),
            signature=signature.hex(), all_facilities=int(all_facilities))
            .returning(rt.statements.c.id)).scalar_one())

    def statements(self) -> Sequence[KeptStatement]:
        s = rt.statements.c
        return [_statement(r) for r in self.conn.execute(
            select(rt.statements).order_by(s.issued_at.desc(), s.id.desc()))]

    def statement(self, statement_id: int) -> KeptStatement | None:
        row = self.conn.execute(select(rt.statements)
                                .where(rt.statements.c.id == statement_id)).first()
        return None if row is None else _statement(row)


def _log_query(stmt: Any, table: Any, kind: str, where: CallFilter,
               after: LogPosition | None, **more: str | None) -> Any:
    """The call log's filters and order on one of its two tables (calls, refusals)."""
    c = table.c
    wanted = {"facility_id": where.facility_id, "resident_id": where.resident_id, **more}
    for name, value in wanted.items():
        if value is not None:
            stmt = stmt.where(c[name] == value)
    if where.since is not None:
        stmt = stmt.where(c.at >= where.since)
    if where.until is not None:
        stmt = stmt.where(c.at < where.until)
    if after is not None:
        stmt = stmt.where(_past(c.at, c.id, after, kind))
    return stmt.order_by(c.at.desc(), c.id.desc())


def _past(at: ColumnElement[Any], row_id: ColumnElement[Any], pos: LogPosition, kind: str
          ) -> ColumnElement[bool]:
    """Rows after ``pos`` in the log's order, newest first by (at, call before refusal,
    id): older instants always; at the same instant, a lower id of the same kind, or a
    refusal after a call."""
    if kind == pos.kind:
        return or_(at < pos.at, and_(at == pos.at, row_id < pos.id))
    return at <= pos.at if kind == "refusal" else at < pos.at


def _statement(row: Row[Any]) -> KeptStatement:
    m = row._mapping
    return KeptStatement(m["id"], m["period"], m["issued_at"], m["sha256"],
                         bool(m["all_facilities"]), m["body"].encode("utf-8"),
                         bytes.fromhex(m["signature"]))
