"""Aggregate SQL for compliance statements, on one read-only snapshot.

Every figure over calls comes from one pass over the period's calls. On PostgreSQL
that pass is a GROUP BY (hash aggregate) with the privileged calls found by hash joins.
SQLite has no hash aggregate: a GROUP BY over ten million rows sorts them all, so the
pass instead UPSERTs into a small temporary table keyed by the group (an in-memory
B-tree of a few thousand rows), about twice as fast, and decides privilege per call by
probing two indexes.

Protection intervals of entries the audit log tracks are loaded into a temporary table
(``rpt_protect``); their ids go to ``rpt_tracked``, so the row-based rule for every other
entry (directory imports) skips them. Temporary tables die with the snapshot's
transaction, which is always rolled back.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TextClause,
    bindparam,
    func,
    insert,
    select,
    text,
)

from privline.adapters.db import repositories as repos
from privline.adapters.db import tables as t
from privline.adapters.db.metadata import UTCDateTime
from privline.adapters.db.tables import vault as v
from privline.domain.audit_chain import ChainEntry, Checkpoint
from privline.domain.compliance_rows import (
    CallGroup,
    DestructionGroup,
    DisclosureRow,
    HoldGroup,
    IncidentGroup,
    LedgerGroup,
    PrivilegedRecordedCall,
    RegistryCount,
    WarningGroup,
)
from privline.domain.model import Facility
from privline.domain.registry import Kind, Source
from privline.domain.registry_history import AuditRow, EntryRow, Interval
from privline.services.ports.compliance import ReportReader

_temp = MetaData()
rpt_protect = Table(
    "rpt_protect", _temp,
    Column("number", String(20), nullable=False),
    Column("start_at", UTCDateTime, nullable=False),
    Column("stop_at", UTCDateTime),
    prefixes=["TEMPORARY"],
)
Index("ix_rpt_protect_number", rpt_protect.c.number, rpt_protect.c.start_at)
rpt_tracked = Table(
    "rpt_tracked", _temp,
    Column("id", Integer, primary_key=True, autoincrement=False),
    prefixes=["TEMPORARY"],
)

# Was the number of call ``c`` privileged at the call's time? (see the module docstring)
_PROTECTED = """(
  EXISTS (SELECT 1 FROM rpt_protect p WHERE p.number = c.number AND p.start_at <= c.at
          AND (p.stop_at IS NULL OR c.at < p.stop_at))
  OR EXISTS (SELECT 1 FROM registry_entries e WHERE e.number = c.number
             AND e.status <> 'pending' AND e.valid_from <= c.at
             AND (e.status = 'verified' OR c.at < e.updated_at)
             AND NOT EXISTS (SELECT 1 FROM rpt_tracked k WHERE k.id = e.id)))"""

# Highest charge per billed minute, in micro-dollars, rounded up: never flatters a charge.
_MICRO = """CASE WHEN c.charge_cents > 0 AND c.duration_s > 0
  THEN (c.charge_cents * 10000 + (c.duration_s + 59) / 60 - 1) / ((c.duration_s + 59) / 60)
  END"""

# A call is a decision the switch made for a SIP call; `call decide` from the CLI or the
# API carries no Call-ID: a what-if query, never counted as a call (see NOTES).
_PERIOD = "c.at >= :start AND c.at < :until AND c.sip_call_id IS NOT NULL"

_SQLITE_CALLS = f"""
INSERT INTO rpt_calls
SELECT c.facility_id, substr(c.at, 1, 10), c.mode, c.private_requested, c.rate_per_minute,
       c.answered_at IS NOT NULL, {_PROTECTED},
       1, COALESCE(c.charge_cents, 0), {_MICRO}, c.id, c.id
FROM calls c WHERE {_PERIOD} {{facilities}} AND true
ON CONFLICT DO UPDATE SET
  calls = calls + 1,
  charged_cents = charged_cents + excluded.charged_cents,
  max_micro = CASE WHEN excluded.max_micro IS NULL THEN max_micro
                   WHEN max_micro IS NULL THEN excluded.max_micro
                   ELSE max(max_micro, excluded.max_micro) END,
  lo = min(lo, excluded.lo), hi = max(hi, excluded.hi)
"""  # noqa: S608 - built from constants only; every value is a bound parameter

_SQLITE_CALLS_TABLE = """
CREATE TEMP TABLE rpt_calls (
  facility_id TEXT NOT NULL, day TEXT NOT NULL, mode TEXT NOT NULL,
  private_requested INTEGER NOT NULL, rate TEXT NOT NULL, connected INTEGER NOT NULL,
  privileged INTEGER NOT NULL, calls INTEGER NOT NULL, charged_cents INTEGER NOT NULL,
  max_micro INTEGER, lo INTEGER NOT NULL, hi INTEGER NOT NULL,
  PRIMARY KEY (facility_id, day, mode, private_requested, rate, connected, privileged))
"""

_POSTGRES_CALLS = f"""
WITH pc AS (
  SELECT c.id FROM calls c JOIN rpt_protect p ON p.number = c.number
    AND p.start_at <= c.at AND (p.stop_at IS NULL OR c.at < p.stop_at)
  WHERE {_PERIOD}
  UNION
  SELECT c.id FROM calls c JOIN registry_entries e ON e.number = c.number
  WHERE {_PERIOD} AND e.status <> 'pending' AND e.valid_from <= c.at
    AND (e.status = 'verified' OR c.at < e.updated_at)
    AND NOT EXISTS (SELECT 1 FROM rpt_tracked k WHERE k.id = e.id)
)
SELECT c.facility_id, date(c.at), c.mode, c.private_requested, c.rate_per_minute,
       c.answered_at IS NOT NULL, pc.id IS NOT NULL,
       COUNT(*), SUM(COALESCE(c.charge_cents, 0)), MAX({_MICRO}), MIN(c.id), MAX(c.id)
FROM calls c LEFT JOIN pc ON pc.id = c.id
WHERE {_PERIOD} {{facilities}}
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""  # noqa: S608 - built from constants only; every value is a bound parameter

_WARNINGS = f"""
SELECT c.facility_id, SUM(CASE WHEN w.opening > 0 THEN 1 ELSE 0 END), SUM(w.reminders)
FROM (SELECT call_id,
             SUM(CASE WHEN prompt = 'recording_warning' THEN 1 ELSE 0 END) AS opening,
             SUM(CASE WHEN prompt = 'recording_reminder' THEN 1 ELSE 0 END) AS reminders
      FROM call_warnings WHERE call_id BETWEEN :lo AND :hi GROUP BY call_id) w
JOIN calls c ON c.id = w.call_id
WHERE {_PERIOD} AND c.mode = 'recorded' AND c.answered_at IS NOT NULL {{facilities}}
GROUP BY c.facility_id
"""  # noqa: S608 - built from constants only; every value is a bound parameter

_PRIVILEGED_RECORDED = f"""
SELECT c.id, c.sip_call_id, c.at, c.facility_id, c.number, c.mode, c.reason,
       c.answered_at IS NOT NULL
FROM calls c WHERE {_PERIOD} AND c.mode = 'recorded' {{facilities}} AND {_PROTECTED}
ORDER BY c.id LIMIT :limit
"""  # noqa: S608 - built from constants only; every value is a bound parameter


def _untracked_protected(i: int) -> str:
    return (f"SUM(CASE WHEN e.status <> 'pending' AND e.valid_from < :t{i} "
            f"AND (e.status = 'verified' OR :t{i} <= e.updated_at) THEN 1 ELSE 0 END)")


class SqlReportQueries:
    """The :class:`~privline.services.ports.compliance.ReportQueries` of one snapshot."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self._audit = repos.SqlAudit(conn)  # for its checkpoints
        self._tracked = False
        self._recorded_ids: tuple[int, int] | None = None

    # --- facilities and the registry --------------------------------------------------

    def facilities(self, until: datetime) -> Sequence[Facility]:
        c = t.facilities.c
        existed = set(self.conn.execute(select(c.id).where(c.created_at < until)).scalars())
        return [f for f in repos.SqlFacilities(self.conn).list() if f.id in existed]

    def audit_rows(self, actions: Collection[str], start: datetime | None,
                   until: datetime) -> Sequence[AuditRow]:
        c = t.audit_events.c
        query = select(c.seq, c.at, c.actor, c.action, c.subject, c.details).where(
            c.action.in_(sorted(actions)), c.at < until)
        if start is not None:
            query = query.where(c.at >= start)
        return [AuditRow(r[0], r[1], r[2], r[3], r[4], _details(r[5]))
                for r in self.conn.execute(query.order_by(c.seq))]

    def entry_rows(self, ids: Collection[int]) -> Mapping[int, EntryRow]:
        c = t.registry_entries.c
        found: dict[int, EntryRow] = {}
        wanted = sorted(ids)
        for first in range(0, len(wanted), 500):
            rows = self.conn.execute(
                select(c.id, c.number, c.kind, c.source, c.created_at)
                .where(c.id.in_(wanted[first:first + 500])))
            for r in rows:
                found[r[0]] = EntryRow(r[0], r[1], _kind(r[2]), _source(r[3]), r[4])
        return found

    def track(self, entry_ids: Collection[int], intervals: Sequence[Interval]) -> None:
        if not self._tracked:
            for table in (rpt_protect, rpt_tracked):
                table.create(self.conn)
            self._tracked = True
        if entry_ids:
            self.conn.execute(insert(rpt_tracked), [{"id": i} for i in sorted(entry_ids)])
        if intervals:
            self.conn.execute(insert(rpt_protect), [
                {"number": i.number, "start_at": i.start, "stop_at": i.stop}
                for i in intervals])

    def untracked_added(self, start: datetime, until: datetime) -> Sequence[RegistryCount]:
        self._need_tracked()
        rows = self.conn.execute(_bind(
            "SELECT e.kind, e.source, COUNT(*) FROM registry_entries e "
            "WHERE e.created_at >= :start AND e.created_at < :until "
            "AND NOT EXISTS (SELECT 1 FROM rpt_tracked k WHERE k.id = e.id) "
            "GROUP BY e.kind, e.source", start=start, until=until))
        return [RegistryCount(r[0], r[1], int(r[2])) for r in rows]

    def untracked_protected_at(self, instants: Sequence[datetime]) -> Sequence[int]:
        self._need_tracked()
        if not instants:
            return []
        sums = ", ".join(_untracked_protected(i) for i in range(len(instants)))
        row = self.conn.execute(_bind(
            f"SELECT {sums} FROM registry_entries e "  # noqa: S608 - no user text
            "WHERE NOT EXISTS (SELECT 1 FROM rpt_tracked k WHERE k.id = e.id)",
            **{f"t{i}": moment for i, moment in enumerate(instants)})).one()
        return [int(x or 0) for x in row]

    # --- calls ------------------------------------------------------------------------

    def call_groups(self, start: datetime, until: datetime,
                    facility_ids: Collection[str] | None) -> Sequence[CallGroup]:
        self._need_tracked()
        where, params = _facility_filter(facility_ids)
        if self.sqlite:
            self.conn.exec_driver_sql(_SQLITE_CALLS_TABLE)
            self.conn.execute(_bind(_SQLITE_CALLS.format(facilities=where),
                                    start=start, until=until, **params))
            rows = list(self.conn.exec_driver_sql("SELECT * FROM rpt_calls"))
            self.conn.exec_driver_sql("DROP TABLE rpt_calls")
        else:
            rows = list(self.conn.execute(_bind(_POSTGRES_CALLS.format(facilities=where),
                                                start=start, until=until, **params)))
        groups: list[CallGroup] = []
        lo: int | None = None
        hi: int | None = None
        for (facility_id, day, mode, private_requested, rate, connected, privileged, calls,
             cents, micro, first, last) in rows:
            groups.append(CallGroup(facility_id, _day(day), mode, bool(private_requested),
                                    Decimal(rate), bool(connected), bool(privileged),
                                    int(calls), int(cents or 0),
                                    None if micro is None else int(micro)))
            if mode == "recorded" and connected:
                lo = first if lo is None else min(lo, first)
                hi = last if hi is None else max(hi, last)
        self._recorded_ids = (lo, hi) if lo is not None and hi is not None else (0, -1)
        return groups

    def warning_groups(self, start: datetime, until: datetime,
                       facility_ids: Collection[str] | None) -> Sequence[WarningGroup]:
        if self._recorded_ids is None:
            c = t.calls.c
            lo, hi = self.conn.execute(select(func.min(c.id), func.max(c.id)).where(
                c.at >= start, c.at < until, c.mode == "recorded")).one()
            self._recorded_ids = (lo or 0, hi if hi is not None else -1)
        lo, hi = self._recorded_ids
        if hi < lo:
            return []
        where, params = _facility_filter(facility_ids)
        rows = self.conn.execute(_bind(_WARNINGS.format(facilities=where), start=start,
                                       until=until, lo=lo, hi=hi, **params))
        return [WarningGroup(r[0], int(r[1] or 0), int(r[2] or 0)) for r in rows]

    def privileged_recorded(self, start: datetime, until: datetime,
                            facility_ids: Collection[str] | None, limit: int
                            ) -> Sequence[PrivilegedRecordedCall]:
        self._need_tracked()
        where, params = _facility_filter(facility_ids)
        calls = list(self.conn.execute(_bind(
            _PRIVILEGED_RECORDED.format(facilities=where), start=start, until=until,
            limit=limit, **params)))
        if not calls:
            return []
        r = v.recordings.c
        states: dict[int | str, list[str]] = {}
        ids = [row[0] for row in calls]
        sips = [row[1] for row in calls if row[1]]
        found = self.conn.execute(
            select(r.call_id, r.sip_call_id, r.state, r.destroyed_reason)
            .where(r.call_id.in_(ids) | r.sip_call_id.in_(sips)).order_by(r.id))
        for call_id, sip, state, why in found:
            label = f"{state}:{why}" if why else str(state)
            states.setdefault(call_id if call_id is not None else sip, []).append(label)
        return [PrivilegedRecordedCall(
            row[0], row[1], _moment(row[2]), row[3], row[4], row[5], row[6], bool(row[7]),
            tuple(states.get(row[0], states.get(row[1] or "", []))))
            for row in calls]

    def ledger_groups(self, start: datetime, until: datetime) -> Sequence[LedgerGroup]:
        # Only what could be a fee: a line of another kind, or a charge for no call.
        rows = self.conn.execute(_bind(
            "SELECT r.facility_id, l.kind, l.call_id IS NOT NULL, COUNT(*), "
            "SUM(l.amount_cents) FROM ledger l LEFT JOIN residents r ON r.id = l.resident_id "
            "WHERE l.at >= :start AND l.at < :until AND (l.kind NOT IN "
            "('deposit', 'charge', 'refund') OR (l.kind = 'charge' AND l.call_id IS NULL)) "
            "GROUP BY 1, 2, 3", start=start, until=until))
        return [LedgerGroup(r[0], r[1], bool(r[2]), int(r[3]), int(r[4] or 0)) for r in rows]

    # --- the vault --------------------------------------------------------------------

    def incident_groups(self, start: datetime, until: datetime) -> Sequence[IncidentGroup]:
        i = v.incidents.c
        rows = self.conn.execute(
            select(i.facility_id, i.kind, func.count(), func.sum(i.recordings))
            .where(i.opened_at >= start, i.opened_at < until)
            .group_by(i.facility_id, i.kind))
        return [IncidentGroup(r[0], r[1], int(r[2]), int(r[3] or 0)) for r in rows]

    def destruction_groups(self, start: datetime, until: datetime
                           ) -> Sequence[DestructionGroup]:
        r = v.recordings.c
        rows = self.conn.execute(
            select(r.facility_id, r.destroyed_reason, func.count())
            # Only destroyed rows carry destroyed_at; the state narrows the scan to them
            # through ix_recordings_state_destroy_after.
            .where(r.state == "destroyed", r.destroyed_at >= start, r.destroyed_at < until)
            .group_by(r.facility_id, r.destroyed_reason))
        return [DestructionGroup(x[0], x[1] or "unknown", int(x[2])) for x in rows]

    def hold_groups(self, start: datetime, until: datetime) -> Sequence[HoldGroup]:
        rows = self.conn.execute(_bind(
            "SELECT r.facility_id, "
            "SUM(CASE WHEN h.placed_at >= :start AND h.placed_at < :until THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN h.released_at >= :start AND h.released_at < :until "
            "THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN h.placed_at < :until AND (h.released_at IS NULL "
            "OR h.released_at >= :until) THEN 1 ELSE 0 END) "
            "FROM legal_holds h JOIN recordings r ON r.id = h.recording_id "
            "WHERE h.placed_at < :until GROUP BY r.facility_id", start=start, until=until))
        return [HoldGroup(x[0], int(x[1] or 0), int(x[2] or 0), int(x[3] or 0)) for x in rows]

    def disclosures(self, start: datetime, until: datetime) -> Sequence[DisclosureRow]:
        d, r = v.disclosures.c, v.recordings.c
        rows = self.conn.execute(
            select(d.id, d.at, r.facility_id, d.basis_type, d.basis_reference, d.recipient)
            .join_from(v.disclosures, v.recordings, r.id == d.recording_id)
            .where(d.at >= start, d.at < until).order_by(d.id))
        return [DisclosureRow(*x) for x in rows]

    # --- the audit log ----------------------------------------------------------------

    def count_actions(self, prefix: str, start: datetime, until: datetime) -> int:
        c = t.audit_events.c
        # A range on the indexed column: LIKE would not use the index on every backend.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return int(self.conn.execute(select(func.count()).where(
            c.action >= prefix, c.action < upper, c.at >= start, c.at < until)).scalar_one())

    def count_audit(self, start: datetime, until: datetime) -> int:
        c = t.audit_events.c
        return int(self.conn.execute(select(func.count()).where(
            c.at >= start, c.at < until)).scalar_one())

    def audit_entries(self) -> Iterator[ChainEntry]:
        """Every entry in chain order, in pages, read on the snapshot's own DBAPI
        connection without per-row type processing: on a long chain this walk is most of
        a statement's time."""
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        mark = "?" if self.sqlite else "%s"
        columns = "seq, at, actor, action, subject, details, prev_hash, hash"
        where = f"seq > {mark} ORDER BY seq LIMIT {mark}"
        sql = f"SELECT {columns} FROM audit_events WHERE {where}"  # noqa: S608 - placeholders
        last, page = 0, 20_000
        try:
            while True:
                cursor.execute(sql, (last, page))
                rows = cursor.fetchall()
                for seq, at, actor, action, subject, details, prev, digest in rows:
                    moment = datetime.fromisoformat(at + "+00:00") if isinstance(at, str) \
                        else at.replace(tzinfo=UTC)
                    yield ChainEntry(seq, moment, actor, action, subject, details, prev,
                                     digest)
                if len(rows) < page:
                    return
                last = rows[-1][0]
        finally:
            cursor.close()

    def audit_entry(self, seq: int) -> ChainEntry | None:
        c = t.audit_events.c
        row = self.conn.execute(select(c.seq, c.at, c.actor, c.action, c.subject, c.details,
                                       c.prev_hash, c.hash).where(c.seq == seq)).first()
        return None if row is None else ChainEntry(*row)

    def audit_checkpoints(self) -> list[Checkpoint]:
        return self._audit.checkpoints()

    def audit_head(self) -> tuple[int, str]:
        h = t.audit_head.c
        seq, digest = self.conn.execute(select(h.seq, h.hash).where(h.id == 1)).one()
        return int(seq), str(digest)

    def _need_tracked(self) -> None:
        if not self._tracked:
            self.track((), ())


@contextmanager
def open_report_reader(engine: Engine) -> Iterator[SqlReportQueries]:
    """One consistent, read-only snapshot; nothing it does is ever committed."""
    conn = engine.connect()
    try:
        if conn.dialect.name == "sqlite":
            # engine.py begins this connection's transaction deferred: a report must not
            # hold the write lock the call path needs.
            conn.execution_options(privline_snapshot=True)
        else:
            conn.execution_options(isolation_level="REPEATABLE READ")
        tx = conn.begin()
        try:
            yield SqlReportQueries(conn)
        finally:
            tx.rollback()
    finally:
        conn.close()


def report_reader(engine: Engine) -> ReportReader:
    """A :data:`~privline.services.ports.compliance.ReportReader` on ``engine``."""
    return lambda: open_report_reader(engine)


def _bind(sql: str, **params: Any) -> TextClause:
    clause = text(sql)
    binds = []
    for name, value in params.items():
        if isinstance(value, datetime):
            binds.append(bindparam(name, value, type_=UTCDateTime()))
        elif isinstance(value, list):
            binds.append(bindparam(name, value, expanding=True))
        else:
            binds.append(bindparam(name, value))
    return clause.bindparams(*binds)


def _facility_filter(facility_ids: Collection[str] | None) -> tuple[str, dict[str, Any]]:
    if facility_ids is None:
        return "", {}
    return "AND c.facility_id IN :facility_ids", {"facility_ids": sorted(facility_ids)}


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _moment(value: Any) -> datetime:
    """A datetime read through plain SQL: naive UTC (either backend) or, on SQLite, text."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _details(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _kind(value: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        return Kind.UNSPECIFIED


def _source(value: str) -> Source:
    try:
        return Source(value)
    except ValueError:
        return Source.STAFF
