"""The call path's statements, run straight on the database driver.

A call decision runs a handful of small statements, and SQLAlchemy's execution layer
(building the execution context, type processing, result objects, events) costs several
times what SQLite takes to run each one (bench/bench_decisions.py). These statements are
therefore plain SQL, written once, run on the DBAPI connection underneath the unit of
work's SQLAlchemy connection: the same connection and the same transaction, which
SQLAlchemy still begins, commits and rolls back. Values cross the boundary the way the
column types in tables.py store them (UTC datetimes without zone, decimals as text).

Driver errors are raised as SQLAlchemy's DBAPIError, as from any other statement, so
the entrypoints turn them into one answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError

Params = Sequence[Any]


class Driver:
    """The DBAPI connection of one unit of work, for the statements below, and the
    SQLAlchemy connection over it (``conn``) for everything else.

    A unit of work (engine.py) checks out a bare pool connection and begins on it; the
    SQLAlchemy ``Connection`` is made on first use only, since a call decision never
    needs one and making, beginning, committing and closing it cost more than half of
    the decision's statements. Over a caller's ``Connection`` (:meth:`over`) both are
    that connection."""

    __slots__ = ("_connect", "_dbapi", "_sa", "dialect", "postgres")

    def __init__(self, dialect: Dialect, dbapi: Any = None,
                 connect: Callable[[], Connection] | None = None,
                 sa: Connection | None = None) -> None:
        self.dialect = dialect
        self.postgres = dialect.name == "postgresql"
        self._dbapi, self._connect, self._sa = dbapi, connect, sa

    @classmethod
    def over(cls, conn: Connection) -> Driver:
        return cls(conn.dialect, sa=conn)

    @property
    def conn(self) -> Connection:
        if self._sa is None:
            assert self._connect is not None  # noqa: S101 - one of the two is always given
            self._sa = self._connect()
        return self._sa

    @property
    def made_conn(self) -> Connection | None:
        """The SQLAlchemy connection, if one was made."""
        return self._sa

    def sql(self, statement: Statement) -> str:
        return statement.postgres if self.postgres else statement.sqlite

    def rows(self, statement: Statement, params: Params) -> list[tuple[Any, ...]]:
        sql = self.sql(statement)
        dbapi: Any = self._dbapi if self._dbapi is not None else \
            self.conn.connection.driver_connection
        error = self.dialect.loaded_dbapi.Error
        try:
            cursor = dbapi.cursor()
            try:
                cursor.execute(sql, params)
                return list(cursor.fetchall()) if cursor.description is not None else []
            finally:
                cursor.close()
        except error as exc:
            # A dropped connection is said so (retryable), and the unit of work takes it
            # out of the pool.
            gone = self.dialect.is_disconnect(exc, dbapi, None)
            raise DBAPIError.instance(sql, params, exc, error, dialect=self.dialect,
                                      connection_invalidated=gone) from exc

    def one(self, statement: Statement, params: Params) -> tuple[Any, ...] | None:
        found = self.rows(statement, params)
        return found[0] if found else None

    # Values as the column types of tables.py store them.

    def time_in(self, value: datetime | None) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: call records need a time zone")
        naive = value.astimezone(UTC).replace(tzinfo=None)
        # SQLAlchemy's SQLite DateTime text format; PostgreSQL takes the datetime itself.
        return naive if self.postgres else naive.isoformat(sep=" ", timespec="microseconds")

    @staticmethod
    def time_out(value: Any) -> datetime | None:
        if value is None:
            return None
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC)

    @staticmethod
    def decimal_in(value: Decimal | None) -> str | None:
        return None if value is None else format(value, "f")


class Statement:
    """One statement in SQLite's ``?`` style and PostgreSQL's ``%s`` style."""

    __slots__ = ("postgres", "sqlite")

    def __init__(self, sqlite: str, postgres: str | None = None) -> None:
        self.sqlite = sqlite
        self.postgres = postgres if postgres is not None else sqlite.replace("?", "%s")


RESIDENT_COLUMNS = "r.id, r.facility_id, r.pin_hash, r.active, r.failed_pins, r.locked_until"
FACILITY_COLUMNS = ("f.id, f.name, f.kind, f.adp, f.region, f.outside_prefix, "
                    "f.international_prefix, f.unknown_privilege, f.private_calls_free, "
                    "f.rate_per_minute, f.max_call_minutes, f.reminder_interval_s, f.phones")
# A decision's first read: the resident, their balance and their facility, in one.
CALLER = Statement(
    f"SELECT {RESIDENT_COLUMNS}, r.balance_cents, {FACILITY_COLUMNS} "  # noqa: S608 - constants
    "FROM residents r JOIN facilities f ON f.id = r.facility_id WHERE r.id = ?")
ENTRIES = Statement(
    "SELECT id, number, kind, holder, credential, source, status, valid_from, valid_until, "
    "created_at FROM registry_entries WHERE number = ? ORDER BY id")
# A resident's registration request, filed by a decision (services/calls.py).
ADD_ENTRY = Statement(
    "INSERT INTO registry_entries (number, kind, holder, credential, source, status, "
    "valid_from, valid_until, note, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?) RETURNING id")
# PostgreSQL: a registry read inside a savepoint, so that its failure leaves the
# decision's transaction usable (registry.py).
REGISTRY_SAVEPOINT = Statement("SAVEPOINT registry_read")
REGISTRY_RELEASE = Statement("RELEASE SAVEPOINT registry_read")
REGISTRY_ROLLBACK = Statement("ROLLBACK TO SAVEPOINT registry_read")
BLOCKED = Statement(
    "SELECT 1 FROM blocked_numbers WHERE number = ? AND facility_id = ? "
    "AND (resident_id IS NULL OR resident_id = ?) LIMIT 1")
# A second decision for one SIP Call-ID writes nothing and returns no id: the unique
# constraint answers in the INSERT itself, with no look-up before it.
ADD_CALL = Statement(
    "INSERT INTO calls (sip_call_id, at, facility_id, resident_id, dialled, number, "
    "private_requested, mode, reason, rate_per_minute, max_minutes, review) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (sip_call_id) DO NOTHING RETURNING id")
# FOR UPDATE serialises appenders on PostgreSQL; SQLite's BEGIN IMMEDIATE already gives
# the transaction the only write lock (and SQLite has no FOR UPDATE).
AUDIT_HEAD = Statement("SELECT seq, hash FROM audit_head WHERE id = 1",
                       "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
_EVENT = ("INSERT INTO audit_events (seq, at, actor, action, subject, details, prev_hash, "
          "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
AUDIT_EVENT = Statement(_EVENT)
AUDIT_MOVE_HEAD = Statement("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1")
# PostgreSQL takes the event and the new head in one statement, one round trip. SQLite
# has no INSERT inside WITH; its two statements cost no round trip.
AUDIT_EVENT_AND_HEAD = Statement(
    "", f"WITH event AS ({_EVENT.replace('?', '%s')}) "  # noqa: S608 - constants
    "UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1")

# The call agent's statements (adapters/switch/records.py applies the journal with them).
# An event's key is claimed by its INSERT alone: a replay inserts nothing, returns no id.
CLAIM_EVENT = Statement(
    "INSERT INTO call_events (sip_call_id, kind, seq, at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (sip_call_id, kind, seq) DO NOTHING RETURNING id")
CALL_COLUMNS = ("id", "sip_call_id", "at", "facility_id", "resident_id", "number", "mode",
                "reason", "rate_per_minute", "max_minutes", "review", "answered_at",
                "ended_at", "duration_s", "charge_cents", "end_reason", "fault", "accepted_at")
CALL_BY_SIP_ID = Statement(
    f"SELECT {', '.join(CALL_COLUMNS)} FROM calls WHERE sip_call_id = ?")  # noqa: S608
CALL_WARNINGS = Statement(
    "SELECT at, prompt, evidence FROM call_warnings WHERE call_id = ? ORDER BY id")
ADD_WARNING = Statement(
    "INSERT INTO call_warnings (call_id, at, prompt, evidence) VALUES (?, ?, ?, ?)")
# The columns a call's life sets after its decision, and how each is stored.
CALL_LIFE_COLUMNS = {"answered_at": "time", "accepted_at": "time", "ended_at": "time",
                     "duration_s": "int", "charge_cents": "int", "end_reason": "text",
                     "fault": "text"}

# Billing (services/accounts.bill), for every answered call the agent closes.
CHARGED_FOR = Statement("SELECT coalesce(sum(amount_cents), 0) FROM ledger WHERE call_id = ?")
LEDGER_LINE = Statement(
    "INSERT INTO ledger (resident_id, kind, amount_cents, call_id, memo, at) "
    "VALUES (?, ?, ?, ?, ?, ?)")
# One UPDATE ... RETURNING keeps the balance and the ledger consistent under concurrent
# posts on both SQLite and PostgreSQL.
MOVE_BALANCE = Statement(
    "UPDATE residents SET balance_cents = balance_cents + ? WHERE id = ? "
    "RETURNING balance_cents")
