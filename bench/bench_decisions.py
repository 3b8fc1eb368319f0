"""Call decisions per second and latency through the service layer, with a big registry.

Prints one JSON object on stdout (progress goes to stderr). Each backend gets a fresh
database: SQLite in a temporary folder, or a throwaway PostgreSQL 15 cluster on 127.0.0.1
(tests/support/postgres.py, the one the tests use). The schema comes from the migrations,
the facility and the resident from the services; the verified registry entries are
bulk-loaded (executemany on SQLite, COPY on PostgreSQL): the import is not what is measured.

Timed per round, every variant over the same destinations:

- ``service``: ``privline.services.calls.decide_call`` with a real ``SqlUnitOfWork``
  factory and no PIN (``--sip-call-id`` adds a Call-ID per decision, as the switch does);
- ``service_with_pin``: the same with the resident's correct PIN, checked by HMAC-SHA-256
  under the PIN key (services/pins.py), as the switch asks for every call;
- ``core_select_insert``: one indexed SELECT of the registry by number, one INSERT of a
  decision-shaped row and a commit, through SQLAlchemy Core on the same engine (pool
  checkout and the engine's BEGIN included). The row goes to the bench's own table,
  bench_call_log (the columns of a call decision, indexed by number), so the baseline
  does not move when the service's own log table does;
- ``dbapi_select_insert``: the same two statements straight on one DBAPI connection;
- ``dbapi_same_statements``: the exact statements decide_call issues with the PIN
  (captured from the service before each round, listed under ``statements_per_decision``)
  replayed straight on one DBAPI connection, then rolled back: the database's floor for
  this transaction;
- ``domain_only``: dial-string parsing and the pure policy, no I/O.

Machines here are noisy: every figure is the median over the rounds, ``rounds`` keeps
the per-round values so the spread shows, and ``service_slower_than`` gives ratios to
each baseline (latency: service / baseline; throughput: baseline / service). Beside wall
latency, ``cpu_*`` is the benchmark thread's CPU time per decision: on a shared machine
it stays close to what a decision costs while wall time also counts waiting for a core
(it leaves out the PostgreSQL server's own work). ``machine.loadavg_1m_before_after``
says how busy the machine was. On PostgreSQL, ``round_trips_per_decision`` counts the
messages that wait for the server (libpq's protocol trace of one decision per
destination, pool checkout to commit), and ``round_trip_ms`` times one bare round trip.

    .venv/bin/python bench/bench_decisions.py                  # 1M entries, both backends
    .venv/bin/python bench/bench_decisions.py --quick          # smoke run, well under 30 s
    .venv/bin/python bench/bench_decisions.py --backend sqlite --profile   # cProfile to stderr
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import itertools
import json
import os
import platform
import pstats
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    insert,
    select,
    text,
)

from privline.adapters.db import make_engine, migrate
from privline.adapters.db import tables as t
from privline.adapters.db.driver import Driver
from privline.adapters.db.engine import WAL_BACKSTOP_PAGES, SqlUnitOfWork
from privline.adapters.db.metadata import DecimalText, UTCDateTime
from privline.adapters.pin_key import PinKeyring
from privline.domain.access import Role
from privline.domain.errors import InvalidNumber
from privline.domain.model import Actor, Facility
from privline.domain.numbers import to_e164
from privline.domain.policy import CallerState, CallRequest, Mode, decide
from privline.domain.rates import FacilityKind
from privline.domain.registry import Kind, Privilege
from privline.services import calls, facilities, registry
from privline.services.ports import UnitOfWork, UnitOfWorkFactory

REPO = Path(__file__).resolve().parents[1]

ADMIN = Actor("bench-admin", Role.ADMIN)
SWITCH = Actor("bench-switch", Role.STAFF)  # the role the switch decides calls with
PRISON = Facility("bench-prison", "Bench State Prison", FacilityKind.PRISON, 1500)
RESIDENT, PIN = "B1001", "2468"
PIN_KEYS = PinKeyring.generate()  # what `privline init` writes to keys/pin.key
TARGET_P99_MS = 1.0

# Registry numbers: 10 area codes x 100 exchanges, lines spread evenly, generated in index
# order so the load appends. Ordinary numbers sit between them: same index pages, no hit.
_NPAS = ("206", "212", "213", "312", "415", "503", "617", "646", "702", "713")
_EXCHANGES = tuple(e for e in range(201, 1000)
                   if e % 100 != 11 and e not in (555, 950, 958, 959, 976))[:100]
_PAIRS = len(_NPAS) * len(_EXCHANGES)
MAX_ENTRIES = _PAIRS * 5000  # keeps a free line between two registry numbers

_UNPARSEABLE = ("", "12", "call my lawyer", "+1 000 000 0000", "555-01", "#*#", "0" * 70,
                "911", "1-800-FLOWERS", "+999 1234")
_KINDS = tuple(k.value for k in Kind if k is not Kind.UNSPECIFIED)
_VALID_FROM = datetime(2020, 1, 1, tzinfo=UTC)

MIX = {"privileged": 0.40, "ordinary": 0.50, "unparseable": 0.10}
PRIVILEGED_PRIVATE_SHARE = 0.5  # asking private changes nothing for a verified number
ORDINARY_PRIVATE_SHARE = 0.1  # asks private: a pending registration request is stored
EXPECTED = {"privileged": Mode.PRIVATE, "ordinary": Mode.RECORDED,
            "ordinary_asking_private": Mode.RECORDED, "unparseable": Mode.DENIED}


def _number(index: int, entries: int, ordinary: bool = False) -> str:
    per_pair = -(-entries // _PAIRS)
    stride = 10000 // per_pair
    pair, k = divmod(index, per_pair)
    npa, exchange = _NPAS[pair // len(_EXCHANGES)], _EXCHANGES[pair % len(_EXCHANGES)]
    return f"+1{npa}{exchange}{k * stride + (stride // 2 if ordinary else 0):04d}"


def _spelling(e164: str, style: int) -> str:
    a, b, c = e164[2:5], e164[5:8], e164[8:]
    return (f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"1-{a}-{b}-{c}", f"+1 {a} {b} {c}",
            f"tel:+1-{a}-{b}-{c}", f"{a}{b}{c}")[style % 6]


@dataclass(frozen=True)
class Call:
    category: str  # privileged | ordinary | ordinary_asking_private | unparseable
    dialled: str
    number: str | None  # what to_e164 gives: the raw baselines look this up directly
    private: bool


def make_calls(rng: random.Random, count: int, entries: int) -> list[Call]:
    out = []
    for _ in range(count):
        roll = rng.random()
        if roll < MIX["privileged"]:
            number = _number(rng.randrange(entries), entries)
            out.append(Call("privileged", _spelling(number, rng.randrange(6)), number,
                            rng.random() < PRIVILEGED_PRIVATE_SHARE))
        elif roll < MIX["privileged"] + MIX["ordinary"]:
            number = _number(rng.randrange(entries), entries, ordinary=True)
            private = rng.random() < ORDINARY_PRIVATE_SHARE
            out.append(Call("ordinary_asking_private" if private else "ordinary",
                            _spelling(number, rng.randrange(6)), number, private))
        else:
            out.append(Call("unparseable", rng.choice(_UNPARSEABLE), None, False))
    for call in out:
        assert _parse(call.dialled) == call.number, call
    return out


def _parse(dialled: str) -> str | None:
    try:
        return to_e164(dialled, PRISON.dial_plan)
    except InvalidNumber:
        return None


_STARTED = time.perf_counter()


def _log(message: str) -> None:
    elapsed = time.perf_counter() - _STARTED
    print(f"[bench_decisions {elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _sqlite_time(moment: datetime) -> str:
    # SQLAlchemy's storage format for DateTime on SQLite.
    return _naive_utc(moment).isoformat(sep=" ", timespec="microseconds")


# --- databases -------------------------------------------------------------------------

_COLUMNS = ("number, kind, holder, credential, source, status, valid_from, valid_until, note, "
            "created_at, updated_at")


def _registry_rows(entries: int, sqlite_text: bool) -> Iterator[tuple[Any, ...]]:
    at: Any = _sqlite_time(_VALID_FROM) if sqlite_text else _naive_utc(_VALID_FROM)
    for i in range(entries):
        yield (_number(i, entries), _KINDS[i % len(_KINDS)], f"Holder {i}",
               f"NPI {1000000000 + i}", "import", "verified", at, None, "", at, at)


BENCH_LOG = Table(
    "bench_call_log", MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("facility_id", String(64), nullable=False),
    Column("resident_id", String(64), nullable=False),
    Column("dialled", String(64), nullable=False),
    Column("number", String(20), index=True),
    Column("private_requested", Boolean, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("reason", String(48), nullable=False),
    Column("rate_per_minute", DecimalText, nullable=False),
    Column("max_minutes", Integer, nullable=False),
    Column("review", Boolean, nullable=False),
)


def load_registry(engine: Engine, entries: int) -> None:
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        if engine.dialect.name == "sqlite":
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(f"INSERT INTO registry_entries ({_COLUMNS}) "  # noqa: S608 - constants
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             _registry_rows(entries, sqlite_text=True))
            conn.execute("COMMIT")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            with conn.cursor() as cur:
                with cur.copy(f"COPY registry_entries ({_COLUMNS}) FROM STDIN") as copy:
                    for row in _registry_rows(entries, sqlite_text=False):
                        copy.write_row(row)
                # What autovacuum does shortly after any real import of this size.
                cur.execute("ANALYZE registry_entries")
            conn.commit()
    finally:
        raw.close()


def build_world(uow: UnitOfWorkFactory, entries: int) -> None:
    now = datetime.now(UTC)
    facilities.add_facility(uow, ADMIN, PRISON, now=now)
    facilities.add_resident(uow, SWITCH, facility_id=PRISON.id, resident_id=RESIDENT, pin=PIN,
                            opening_balance_cents=100_000, now=now)
    registry.add_entry(uow, SWITCH, number="+14155550142", kind="attorney", holder="Ada Counsel",
                       credential="CA-123456", verified=True, now=now)


def check_world(uow: UnitOfWorkFactory, entries: int) -> None:
    """The bulk rows must read back through the services like any other entry."""
    now = datetime.now(UTC)
    for index in (0, entries // 2, entries - 1):
        hit = registry.check(uow, SWITCH, _number(index, entries), now=now)
        miss = registry.check(uow, SWITCH, _number(index, entries, ordinary=True), now=now)
        assert hit.privileged and not miss.privileged and not miss.entries, (hit, miss)


# --- what is timed ---------------------------------------------------------------------

Variant = Callable[[Call], Any]


_CALL_IDS = itertools.count(1)


def service(uow: UnitOfWorkFactory, pin: str | None = None, sip_call_id: bool = False
            ) -> Variant:
    tag = f"{os.getpid()}-{time.time_ns()}"

    def run(call: Call) -> Any:
        request = CallRequest(PRISON.id, RESIDENT, call.dialled, call.private, pin)
        if sip_call_id:  # as the switch does: one more lookup, to refuse a second decision
            return calls.decide_call(uow, SWITCH, request, now=datetime.now(UTC),
                                     sip_call_id=f"{next(_CALL_IDS)}-{tag}@bench")
        return calls.decide_call(uow, SWITCH, request, now=datetime.now(UTC))
    return run


def core_select_insert(engine: Engine) -> Variant:
    r = t.registry_entries.c
    lookup = select(r.id, r.number, r.kind, r.holder, r.credential, r.source, r.status,
                    r.valid_from, r.valid_until, r.created_at).where(r.number == bindparam("n"))
    log = insert(BENCH_LOG)

    def run(call: Call) -> Any:
        with engine.connect() as conn, conn.begin():
            if call.number is not None:
                conn.execute(lookup, {"n": call.number}).all()
            conn.execute(log, {
                "at": datetime.now(UTC), "facility_id": PRISON.id, "resident_id": RESIDENT,
                "dialled": call.dialled[:64], "number": call.number,
                "private_requested": call.private, "mode": "recorded", "reason": "standard",
                "rate_per_minute": Decimal("0.11"), "max_minutes": 15, "review": False})
    return run


_REGISTRY_SQL = ("SELECT id, number, kind, holder, credential, source, status, valid_from, "
                 "valid_until, created_at FROM registry_entries WHERE number = ?")
_DECISION_SQL = ("INSERT INTO bench_call_log (at, facility_id, resident_id, dialled, number, "
                 "private_requested, mode, reason, rate_per_minute, max_minutes, review) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


class RawDriver:
    """One DBAPI connection from the engine's pool, held for the whole run."""

    def __init__(self, engine: Engine) -> None:
        self.sqlite = engine.dialect.name == "sqlite"
        self._raw = engine.raw_connection()
        self.conn: Any = self._raw.driver_connection

    def sql(self, statement: str) -> str:
        return statement if self.sqlite else statement.replace("?", "%s")

    def at(self) -> Any:
        now = datetime.now(UTC)
        return _sqlite_time(now) if self.sqlite else _naive_utc(now)

    def close(self) -> None:
        self._raw.close()


def dbapi_select_insert(raw: RawDriver) -> Variant:
    conn, lookup, log = raw.conn, raw.sql(_REGISTRY_SQL), raw.sql(_DECISION_SQL)

    def run(call: Call) -> Any:
        cur = conn.cursor()
        if raw.sqlite:  # make_engine leaves pysqlite in autocommit mode and BEGINs itself
            cur.execute("BEGIN IMMEDIATE")
        if call.number is not None:
            cur.execute(lookup, (call.number,))
            cur.fetchall()
        cur.execute(log, (raw.at(), PRISON.id, RESIDENT, call.dialled[:64], call.number,
                          call.private, "recorded", "standard", "0.11", 15, False))
        conn.commit()
        cur.close()
    return run


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Any
    many: bool


class SameStatements:
    """Replays, on one DBAPI connection, the exact statements decide_call issued.

    Before each round one decision per destination category runs through the service with
    a cursor listener, untimed and rolled back; the round then replays that category's
    statements for each call, with the call's number and dial string swapped in, and rolls
    back too. Rolling back keeps rows the service numbers itself (the audit chain's seq)
    from colliding, so this floor leaves out the commit: dbapi_select_insert has one.
    """

    def __init__(self, engine: Engine, raw: RawDriver,
                 calls_by_category: dict[str, Call], sip_call_id: bool) -> None:
        self.engine, self.raw, self.sip_call_id = engine, raw, sip_call_id
        self.samples = calls_by_category
        self.captured: dict[str, tuple[Call, list[Statement]]] = {}

    def prepare(self) -> None:
        seen: list[Statement] = []

        def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                     executemany: bool) -> None:
            seen.append(Statement(statement, parameters, executemany))

        # The call path's own statements bypass SQLAlchemy (adapters/db/driver.py), and
        # SQLite's BEGIN IMMEDIATE is issued on the driver too: both are captured here.
        on_driver = Driver.rows

        def spy(driver: Driver, statement: Any, params: Any) -> Any:
            seen.append(Statement(driver.sql(statement), tuple(params), False))
            return on_driver(driver, statement, params)

        def uow() -> UnitOfWork:
            return _RolledBack(self.engine, pins=PIN_KEYS)

        event.listen(self.engine, "before_cursor_execute", listener)
        Driver.rows = spy  # type: ignore[method-assign]
        try:
            for category, call in self.samples.items():
                seen[:] = [Statement("BEGIN IMMEDIATE", (), False)] if self.raw.sqlite else []
                service(uow, PIN, sip_call_id=self.sip_call_id)(call)
                self.captured[category] = (call, list(seen))
        finally:
            Driver.rows = on_driver  # type: ignore[method-assign]
            event.remove(self.engine, "before_cursor_execute", listener)

    def statements(self) -> dict[str, list[str]]:
        return {k: [_shape(s.sql) for s in v] for k, (_, v) in self.captured.items()}

    def __call__(self, call: Call) -> Any:
        sample, statements = self.captured[call.category]
        swap = {sample.number: call.number, sample.dialled[:64]: call.dialled[:64]}
        swap.pop(None, None)
        cur = self.raw.conn.cursor()
        for st in statements:
            params = st.params
            if isinstance(params, dict):
                params = {k: swap.get(v, v) if isinstance(v, str) else v
                          for k, v in params.items()}
            elif isinstance(params, tuple | list) and not st.many:
                params = tuple(swap.get(v, v) if isinstance(v, str) else v for v in params)
            if st.many:
                cur.executemany(st.sql, params)
            else:
                cur.execute(st.sql, params)
            if cur.description is not None:
                cur.fetchall()
        self.raw.conn.rollback()
        cur.close()


class _RolledBack(SqlUnitOfWork):
    """A unit of work whose commit rolls back: capturing leaves the database as it was."""

    def commit(self) -> None:
        self._rollback()


def _shape(sql: str) -> str:
    """``SELECT registry_entries``, ``INSERT audit_events``, ``SAVEPOINT``: for the report."""
    words = sql.split()
    upper = [w.upper() for w in words]
    lock = " FOR UPDATE" if "FOR UPDATE" in " ".join(upper) else ""
    if upper[0] == "UPDATE":
        return f"UPDATE {words[1]}"
    for marker in ("FROM", "INTO"):
        if marker in upper[:-1]:
            return f"{upper[0]} {words[upper.index(marker) + 1]}{lock}"
    return " ".join(upper[:2]) if upper[0] == "BEGIN" else upper[0]


def pg_round_trips(engine: Engine, uow: UnitOfWorkFactory, samples: dict[str, Call],
                   sip_call_id: bool) -> dict[str, Any]:
    """Messages one decision with the PIN waits on the server for, from libpq's trace.

    Tracing starts when the connection goes back to the pool after a warm-up decision, so
    the measured one's pool checkout (pre-ping), statements, commit and reset all show.
    Each simple Query or extended-protocol Sync is one round trip.
    """
    from psycopg import pq

    out: dict[str, Any] = {}
    with tempfile.TemporaryFile("w+") as trace:
        state: dict[str, Any] = {"arm": False, "traced": None}

        def checkin(dbapi_conn: Any, _record: Any) -> None:
            if state["arm"]:
                dbapi_conn.pgconn.trace(trace.fileno())
                dbapi_conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
                state.update(arm=False, traced=dbapi_conn)
            elif state["traced"] is dbapi_conn:
                dbapi_conn.pgconn.untrace()
                state["traced"] = None

        event.listen(engine, "checkin", checkin)
        try:
            run = service(uow, PIN, sip_call_id)
            for category, call in samples.items():
                state["arm"] = True
                run(call)  # warm-up: arms the trace on the way back to the pool
                start = trace.seek(0, os.SEEK_END)
                run(call)
                trace.seek(start)
                sent = [line.split("\t")[2] for line in trace.read().splitlines()
                        if line.startswith("F\t")]
                out[category] = {"round_trips": sum(m in ("Query", "Sync") for m in sent),
                                 "frontend_messages": dict(Counter(sent))}
        finally:
            event.remove(engine, "checkin", checkin)
    raw = engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()  # type: ignore[union-attr]
        samples_ns = []
        for _ in range(200):
            t0 = time.perf_counter_ns()
            cur.execute("SELECT 1")
            cur.fetchall()
            samples_ns.append(time.perf_counter_ns() - t0)
        raw.rollback()
    finally:
        raw.close()
    samples_ns.sort()
    return {"per_destination": out, "round_trip_ms": {"p50": _pct(samples_ns, 50),
                                                       "p99": _pct(samples_ns, 99)}}


def domain_only() -> Variant:
    policy, caller = PRISON.policy, CallerState(True, False, True, 100_000)

    def run(call: Call) -> Any:
        number = _parse(call.dialled)
        privilege = (Privilege.UNKNOWN if number is None else
                     Privilege.PRIVILEGED if call.category == "privileged" else
                     Privilege.NOT_PRIVILEGED)  # what the registry would have said
        return decide(facility=policy, caller=caller, number=number, privilege=privilege,
                      private_requested=call.private, blocked=False, now=datetime.now(UTC))
    return run


# --- measuring -------------------------------------------------------------------------


def _pct(ordered: list[int], p: float) -> float:
    """Nearest-rank percentile of nanosecond samples, in milliseconds."""
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1] / 1e6


@dataclass
class Timing:
    wall_ns: list[int]
    cpu_ns: list[int]  # this thread's CPU time: what the decision cost when not preempted
    results: list[Any]
    wall_s: float

    def only(self, keep: list[bool]) -> Timing:
        wall = [w for w, k in zip(self.wall_ns, keep, strict=True) if k]
        cpu = [c for c, k in zip(self.cpu_ns, keep, strict=True) if k]
        return Timing(wall, cpu, [], sum(wall) / 1e9)


def timed(run: Variant, batch: list[Call]) -> Timing:
    gc.collect()
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    timing = Timing([], [], [], 0.0)
    started = clock()
    for call in batch:
        t0, c0 = clock(), cpu()
        timing.results.append(run(call))
        c1, t1 = cpu(), clock()
        timing.wall_ns.append(t1 - t0)
        timing.cpu_ns.append(c1 - c0)
    timing.wall_s = (clock() - started) / 1e9
    return timing


def summary(timing: Timing) -> dict[str, float]:
    wall, cpu = sorted(timing.wall_ns), sorted(timing.cpu_ns)
    return {"per_s": len(wall) / timing.wall_s, "p50_ms": _pct(wall, 50),
            "p90_ms": _pct(wall, 90), "p99_ms": _pct(wall, 99), "max_ms": wall[-1] / 1e6,
            "mean_ms": sum(wall) / len(wall) / 1e6, "cpu_p50_ms": _pct(cpu, 50),
            "cpu_p99_ms": _pct(cpu, 99)}


def median_of(rounds: list[dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {k: round(statistics.median(r[k] for r in rounds), 4)
                           for k in rounds[0]}
    out["per_s"] = round(out["per_s"], 1)
    out["rounds"] = {k: [round(r[k], 4 if k != "per_s" else 1) for r in rounds]
                     for k in ("per_s", "p50_ms", "p99_ms", "cpu_p99_ms")}
    return out


def bench_backend(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    # As the switch's routing opens it: no pre-ping, and (no WalCheckpoints) its commits
    # leave the WAL's checkpoint to the call agent, played here by WalCheckpointer.
    engine = make_engine(url, pre_ping=False)
    try:
        started = time.perf_counter()
        migrate(engine)
        BENCH_LOG.create(engine)

        def uow() -> UnitOfWork:
            return SqlUnitOfWork(engine, pins=PIN_KEYS)

        build_world(uow, args.entries)
        load_registry(engine, args.entries)
        check_world(uow, args.entries)
        load_s = time.perf_counter() - started
        _log(f"{name}: {args.entries} entries ready in {load_s:.1f} s")
        if engine.dialect.name != "sqlite":
            return measure(name, engine, uow, args) | {"setup_s": round(load_s, 1)}
        with WalCheckpointer(str(engine.url.database)) as checkpointer:
            result = measure(name, engine, uow, args)
        return result | {"setup_s": round(load_s, 1), "wal_checkpoints": checkpointer.report}
    finally:
        engine.dispose()


class WalCheckpointer:
    """The call agent's part in the WAL: in the switch its units of work checkpoint
    SQLite's WAL after their commits, outside the writer turn, at most every 0.1 s
    (adapters/db/engine.py, WalCheckpoints), and the routing's decisions do not. Here a
    separate process does the same (PASSIVE: it never holds a writer back) every
    ``interval`` seconds, and says how often, the WAL's largest size it saw, and the CPU
    it spent, so that cost stays in view."""

    _CHILD = """
import json, select, sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
interval, runs, most = float(sys.argv[2]), 0, 0
while not select.select([sys.stdin], [], [], interval)[0]:
    busy, frames, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    runs, most = runs + 1, max(most, frames)
print(json.dumps({"checkpoints": runs, "wal_pages_at_most": most,
                  "cpu_s": round(time.process_time(), 2)}), flush=True)
"""

    def __init__(self, database: str, interval: float = 0.1) -> None:
        self.args = [sys.executable, "-c", self._CHILD, database, str(interval)]
        self.interval = interval
        self.report: dict[str, Any] = {}

    def __enter__(self) -> WalCheckpointer:
        self.child = subprocess.Popen(self.args, stdin=subprocess.PIPE,  # noqa: S603
                                      stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *_: object) -> None:
        out, _err = self.child.communicate("", timeout=60)  # EOF on stdin: report and stop
        self.report = {"by": f"a separate process, PRAGMA wal_checkpoint(PASSIVE) every "
                             f"{self.interval} s (the call agent's in the switch); "
                             "the decisions' own commits only past "
                             f"{WAL_BACKSTOP_PAGES} pages", **json.loads(out)}


def measure(name: str, engine: Engine, uow: UnitOfWorkFactory,
            args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    per_round = max(1, args.calls // args.rounds)
    raw = RawDriver(engine)
    same = SameStatements(engine, raw, one_per_category(rng, args.entries), args.sip_call_id)
    variants: dict[str, Variant] = {
        "service": service(uow, sip_call_id=args.sip_call_id),
        "service_with_pin": service(uow, PIN, sip_call_id=args.sip_call_id),
        "core_select_insert": core_select_insert(engine),
        "dbapi_select_insert": dbapi_select_insert(raw),
        "dbapi_same_statements": same,
        "domain_only": domain_only(),
    }
    try:
        warm = make_calls(rng, args.warmup, args.entries)
        for run in variants.values():
            if run is same:
                same.prepare()  # captured against the database as it is now
            for call in warm:
                run(call)
        per_variant: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
        by_category: dict[str, list[dict[str, float]]] = {}
        modes: Counter[str] = Counter()
        wrong: list[str] = []
        for number in range(args.rounds):
            batch = make_calls(rng, per_round, args.entries)
            order = list(variants)
            rng.shuffle(order)  # no variant always runs on the cooler or hotter machine
            for key in order:
                if key == "dbapi_same_statements":
                    same.prepare()
                timing = timed(variants[key], batch)
                per_variant[key].append(summary(timing))
                if key not in ("service", "service_with_pin"):
                    continue
                if key == "service_with_pin":
                    for call, decision in zip(batch, timing.results, strict=True):
                        if decision.mode is not EXPECTED[call.category]:
                            wrong.append(f"PIN {call.dialled!r} -> {decision.mode}")
                    continue
                for category in EXPECTED:
                    keep = [c.category == category for c in batch]
                    if any(keep):
                        by_category.setdefault(category, []).append(
                            summary(timing.only(keep)))
                for call, decision in zip(batch, timing.results, strict=True):
                    modes[f"{call.category}:{decision.mode}"] += 1
                    if decision.mode is not EXPECTED[call.category]:
                        wrong.append(f"{call.dialled!r} -> {decision.mode}/{decision.reason}")
            svc = per_variant["service"][-1]
            _log(f"{name}: round {number + 1}/{args.rounds}: {svc['per_s']:.0f}/s, "
                 f"p50 {svc['p50_ms']:.3f} ms, p99 {svc['p99_ms']:.3f} ms")
        trips = (pg_round_trips(engine, uow, one_per_category(rng, args.entries),
                                args.sip_call_id) if not raw.sqlite else None)
        if args.profile:
            profile(name, variants["service_with_pin"],
                    make_calls(rng, per_round, args.entries))
    finally:
        raw.close()

    medians = {k: median_of(v) for k, v in per_variant.items()}
    svc, with_pin = medians["service"], medians["service_with_pin"]
    return {
        "service": svc,
        "service_by_destination": {k: {m: round(statistics.median(r[m] for r in v), 4)
                                       for m in ("p50_ms", "p90_ms", "p99_ms", "max_ms",
                                                 "cpu_p50_ms", "cpu_p99_ms")}
                                   for k, v in by_category.items()},
        "with_pin": with_pin | {
            "p50_vs_without_pin": round(with_pin["p50_ms"] / svc["p50_ms"], 2),
            "p99_vs_without_pin": round(with_pin["p99_ms"] / svc["p99_ms"], 2)},
        "baselines": {k: v for k, v in medians.items() if not k.startswith("service")},
        "statements_per_decision": {k: {"count": len(v), "statements": v}
                                    for k, v in same.statements().items()},
        **({"round_trips_per_decision": trips} if trips is not None else {}),
        "service_with_pin_slower_than": {
            k: {"p50": round(with_pin["p50_ms"] / v["p50_ms"], 2),
                "p99": round(with_pin["p99_ms"] / v["p99_ms"], 2),
                "cpu_p50": round(with_pin["cpu_p50_ms"] / v["cpu_p50_ms"], 2),
                "throughput": round(v["per_s"] / with_pin["per_s"], 2)}
            for k, v in medians.items() if not k.startswith("service")},
        "p99_target_ms": TARGET_P99_MS,
        "meets_p99_target_with_pin": with_pin["p99_ms"] <= TARGET_P99_MS,
        "meets_p99_target_with_pin_on_cpu_time": with_pin["cpu_p99_ms"] <= TARGET_P99_MS,
        "decisions": dict(sorted(modes.items())),
        "unexpected_decisions": wrong[:10],
        "calls_per_round": per_round,
        "rounds": args.rounds,
    }


def one_per_category(rng: random.Random, entries: int) -> dict[str, Call]:
    found: dict[str, Call] = {}
    while len(found) < len(EXPECTED):
        for call in make_calls(rng, 50, entries):
            found.setdefault(call.category, call)
    return {k: found[k] for k in EXPECTED}


def profile(name: str, run: Variant, batch: list[Call]) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for call in batch:
        run(call)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    _log(f"{name}: cProfile of {len(batch)} service decisions\n{out.getvalue()}")


# --- the run ---------------------------------------------------------------------------


def run_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="privline-bench-") as folder:
        result = bench_backend("sqlite", f"sqlite:///{folder}/privline.db", args)
        result["settings"] = ("file in a temp dir; make_engine pragmas: journal_mode=WAL, "
                              "synchronous=NORMAL, foreign_keys=ON, BEGIN IMMEDIATE, "
                              f"wal_autocheckpoint={WAL_BACKSTOP_PAGES} (a backstop; "
                              "see wal_checkpoints)")
        result["server_version"] = sqlite3.sqlite_version
        return result


def run_postgres(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))  # reuse the tests' throwaway cluster
    from tests.support.postgres import ThrowawayPostgres

    _log("postgres: starting a throwaway cluster")
    pg = ThrowawayPostgres().start()
    try:
        url = pg.create_database("privline_bench")
        result = bench_backend("postgres", url, args)
        engine = make_engine(url)
        with engine.connect() as conn:
            result["server_version"] = conn.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
        result["settings"] = ("throwaway cluster on 127.0.0.1 over TCP, fsync=off, "
                              "synchronous_commit=off, full_page_writes=off; make_engine as "
                              "the call path's: pool_pre_ping=False")
        return result
    finally:
        pg.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, help="verified registry entries (1000000)")
    parser.add_argument("--calls", type=int, help="timed decisions per variant (20000)")
    parser.add_argument("--rounds", type=int, help="rounds; figures are medians (5)")
    parser.add_argument("--warmup", type=int, help="untimed decisions per variant (300)")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--sip-call-id", action="store_true",
                        help="pass a fresh SIP Call-ID with every decision, as the switch does")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile one round of service decisions, to stderr")
    args = parser.parse_args(argv)
    defaults = ({"entries": 20_000, "calls": 450, "rounds": 3, "warmup": 30}
                if args.quick else
                {"entries": 1_000_000, "calls": 20_000, "rounds": 5, "warmup": 300})
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if not 3 <= args.entries <= MAX_ENTRIES:
        parser.error(f"--entries must be 3..{MAX_ENTRIES}")
    if args.calls < args.rounds or args.rounds < 1:
        parser.error("need --rounds >= 1 and --calls >= --rounds")
    return args


def _dumps(report: dict[str, Any]) -> str:
    # Indented for reading, but flat lists stay on one line (a JSON string holds no newline).
    return re.sub(r"\[\n\s+([^\[\]{}]*?)\n\s+\]",
                  lambda m: "[" + re.sub(r",\n\s+", ", ", m.group(1)) + "]",
                  json.dumps(report, indent=2))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, load_before = time.perf_counter(), os.getloadavg()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    results: dict[str, Any] = {}
    for name in backends:
        results[name] = run_sqlite(args) if name == "sqlite" else run_postgres(args)
    report = {
        "benchmark": "call_decisions",
        "what": "privline.services.calls.decide_call with SqlUnitOfWork, without (service) "
                "and with the PIN (with_pin); latencies per decision; every figure the "
                "median over rounds",
        "entries": args.entries,
        "calls_per_variant": args.calls // args.rounds * args.rounds,
        "destination_mix": MIX | {"ordinary_asking_private": ORDINARY_PRIVATE_SHARE,
                                  "privileged_asking_private": PRIVILEGED_PRIVATE_SHARE},
        "quick": args.quick,
        "sip_call_id": args.sip_call_id,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "sqlalchemy": version("sqlalchemy"),
                    "psycopg": version("psycopg"), "phonenumbers": version("phonenumbers"),
                    # Other work shares these cores: the load shows how noisy the run was.
                    "loadavg_1m_before_after": [round(load_before[0], 2),
                                                round(os.getloadavg()[0], 2)]},
        "backends": results,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    print(_dumps(report))
    return 1 if any(r["unexpected_decisions"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
