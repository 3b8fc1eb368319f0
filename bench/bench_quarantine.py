"""Retroactive quarantine time when one number is verified, with 10,000,000 calls stored.

Prints one JSON object on stdout (progress on stderr). The database is loaded in bulk
(executemany on SQLite, COPY on PostgreSQL; secondary indexes built after the load):
``--calls`` call records over ``--numbers`` distinct called numbers, and a stored
recording for ``--recorded-share`` of them, every one indexed as ingest leaves it.
Three "heavy" numbers (a public defender's office, say) get 1 call in 10,000 each.

Each trial verifies one pending registry entry through the service,
``registry.change_status(..., VERIFIED)``: one transaction that updates the entry,
writes its audit event, quarantines every stored recording of calls to the number (an
incident and an audit event per facility) and commits. That whole transaction is the
figure reported, beside the quarantine step alone and a scan of the table without the
index, for contrast. Target: <= 50 ms.

    .venv/bin/python bench/bench_quarantine.py                 # SQLite, 10,000,000 calls
    .venv/bin/python bench/bench_quarantine.py --db postgres   # a throwaway PostgreSQL
    .venv/bin/python bench/bench_quarantine.py --quick         # 100,000 calls, seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support.postgres: the same throwaway cluster as tests

from sqlalchemy import Engine, func, insert, select, text  # noqa: E402

from privline.adapters.db import make_engine, migrate  # noqa: E402
from privline.adapters.db import tables as t  # noqa: E402
from privline.adapters.db.engine import SqlUnitOfWork  # noqa: E402
from privline.adapters.db.tables import vault as v  # noqa: E402
from privline.domain.access import Role  # noqa: E402
from privline.domain.model import Actor  # noqa: E402
from privline.domain.registry import Status  # noqa: E402
from privline.services import registry  # noqa: E402
from privline.services.ports import UnitOfWork  # noqa: E402
from privline.services.quarantine import quarantine_number  # noqa: E402

TARGET_MS = 50.0
STAFF = Actor("bench-staff", Role.STAFF)
FACILITIES = ("bench-prison", "bench-jail")
BASE = datetime(2026, 1, 1, tzinfo=UTC)
HEAVY_EVERY = 10_000
HEAVY = ("+13125550100", "+13125550101", "+13125550102")
MULTIPLIER = 2_654_435_761  # spreads calls over numbers (coprime with the defaults)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _sql(dialect: str, args: argparse.Namespace) -> tuple[str, str]:
    """INSERT ... SELECT statements that generate the rows inside the database: the load
    runs at the database's speed, not Python's. Call ``i`` goes to number
    ``(i * MULTIPLIER) % numbers`` (or a heavy number when ``i % HEAVY_EVERY < 3``)."""
    every = max(1, round(1 / args.recorded_share))
    heavy = " ".join(f"WHEN i % {HEAVY_EVERY} = {k} THEN '{n}'" for k, n in enumerate(HEAVY))
    if dialect == "sqlite":
        series = (f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "  # noqa: S608
                  f"WHERE i < {args.calls}) ")
        at = f"datetime({int(BASE.timestamp())} + 3 * i, 'unixepoch')"
        number = (f"CASE {heavy} ELSE printf('+1212%07d', (i * {MULTIPLIER}) "
                  f"% {args.numbers}) END")
        sip, resident = "printf('c%010d@bench', i)", "printf('R%05d', i % 20000)"
        key = "printf('c%010d%%40bench-%016x', id, id)"
        blob, wrapped = "printf('r%032x', id)", "randomblob(74)"
        source = "s"
    else:
        series = ""
        at = f"timestamp '{BASE:%Y-%m-%d}' + (3 * i) * interval '1 second'"
        number = (f"CASE {heavy} ELSE '+1212' || lpad(((i::bigint * {MULTIPLIER}) "
                  f"% {args.numbers})::text, 7, '0') END")
        sip = "'c' || lpad(i::text, 10, '0') || '@bench'"
        resident = "'R' || lpad((i % 20000)::text, 5, '0')"
        key = "'c' || lpad(id::text, 10, '0') || '%40bench-' || lpad(to_hex(id), 16, '0')"
        blob, wrapped = "'r' || lpad(to_hex(id), 32, '0')", "decode(repeat('ab', 74), 'hex')"
        source = f"generate_series(1, {args.calls}) AS s(i)"
    facility = f"CASE i % 2 WHEN 0 THEN '{FACILITIES[0]}' ELSE '{FACILITIES[1]}' END"
    false = "0" if dialect == "sqlite" else "false"
    # Only our constants and integers go into these statements.
    calls = (f"{series}INSERT INTO calls (id, sip_call_id, at, facility_id, resident_id, "  # noqa: S608
             "dialled, number, private_requested, mode, reason, rate_per_minute, max_minutes, "
             "review, answered_at, ended_at, duration_s, charge_cents, end_reason) "
             f"SELECT i, {sip}, {at}, {facility}, {resident}, n, n, {false}, 'recorded', "
             f"'ordinary', '0.11', 15, {false}, {at}, {at}, 300, 55, 'bye' "
             f"FROM (SELECT i, {number} AS n FROM {source}) AS g")
    recordings = ("INSERT INTO recordings (id, spool_key, sip_call_id, call_id, facility_id, "  # noqa: S608
                  "resident_id, number, call_at, state, blob_id, wrapped_key, master_key_id, "
                  "audio_ms, audio_bytes, channels, indexed_at) "
                  f"SELECT id, {key}, sip_call_id, id, facility_id, resident_id, number, at, "
                  f"'stored', {blob}, {wrapped}, '0011223344556677', 300000, 9600044, 2, at "
                  f"FROM calls WHERE id % {every} = 0")
    return calls, recordings


def load(engine: Engine, args: argparse.Namespace) -> dict[str, float]:
    seconds: dict[str, float] = {}
    with engine.begin() as conn:
        for facility in FACILITIES:
            conn.execute(insert(t.facilities).values(
                id=facility, name=facility, kind="prison", adp=2000, region="US",
                international_prefix="011", unknown_privilege="refuse",
                private_calls_free=True, max_call_minutes=15, reminder_interval_s=300,
                phones="", created_at=BASE))
        indexes = [*t.calls.indexes, *v.recordings.indexes]
        for index in indexes:  # built after the load: far faster than row by row
            index.drop(conn)
    calls, recordings = _sql(engine.dialect.name, args)
    for name, statement in (("calls", calls), ("recordings", recordings)):
        started = time.perf_counter()
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            else:
                statement = statement.replace("%", "%%")  # psycopg's placeholder syntax
            conn.exec_driver_sql(statement)
        seconds[f"load_{name}"] = time.perf_counter() - started
        log(f"  {name}: {seconds[f'load_{name}']:.0f} s")
    started = time.perf_counter()
    with engine.begin() as conn:
        for index in indexes:
            log(f"  index {index.name}")
            index.create(conn)
        conn.execute(text("ANALYZE"))
    seconds["build_indexes"] = time.perf_counter() - started
    return seconds


def trial_numbers(args: argparse.Namespace, count: int) -> list[str]:
    step = max(1, args.numbers // (count + 1))
    return [f"+1212{k:07d}" for k in range(step, step * (count + 1), step)][:count]


def add_pending(engine: Engine, numbers: list[str]) -> dict[str, int]:
    ids = {}
    with engine.begin() as conn:
        for n, number in enumerate(numbers):
            ids[number] = conn.execute(insert(t.registry_entries).values(
                number=number, kind="attorney", holder=f"Counsel {n}",
                credential=f"BAR-{n}", source="staff", status="pending", valid_from=BASE,
                note="", created_at=BASE, updated_at=BASE)
                .returning(t.registry_entries.c.id)).scalar_one()
    return ids


def count(engine: Engine, number: str, state: str) -> int:
    r = v.recordings.c
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(v.recordings)
                                .where(r.number == number, r.state == state)).scalar_one())


def plan(engine: Engine, number: str) -> str:
    query = "SELECT id, facility_id FROM recordings WHERE number = :n AND state = 'stored'"
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text("EXPLAIN QUERY PLAN " + query), {"n": number})
            return "; ".join(str(r[-1]) for r in rows)
        rows = conn.execute(text("EXPLAIN " + query), {"n": number})
        return "; ".join(str(r[0]).strip() for r in rows)


def scan_ms(engine: Engine, number: str) -> float:
    """The same lookup forced to read the whole table: what the index saves."""
    with engine.connect() as conn:
        started = time.perf_counter()
        if engine.dialect.name == "sqlite":
            conn.execute(text("SELECT count(*) FROM recordings NOT INDEXED "
                              "WHERE number = :n AND state = 'stored'"), {"n": number})
        else:
            conn.execute(text("SET LOCAL enable_indexscan = off"))
            conn.execute(text("SET LOCAL enable_bitmapscan = off"))
            conn.execute(text("SELECT count(*) FROM recordings "
                              "WHERE number = :n AND state = 'stored'"), {"n": number})
        return (time.perf_counter() - started) * 1000


def run_trials(engine: Engine, entries: dict[str, int]) -> list[dict[str, Any]]:
    def uow() -> UnitOfWork:
        return SqlUnitOfWork(engine)

    results = []
    for number, entry_id in entries.items():
        stored = count(engine, number, "stored")
        started = time.perf_counter()
        registry.change_status(uow, STAFF, entry_id, Status.VERIFIED,
                               now=datetime.now(UTC), note="bench")
        ms = (time.perf_counter() - started) * 1000
        moved = count(engine, number, "quarantined")
        assert moved == stored and count(engine, number, "stored") == 0
        results.append({"number": number, "recordings_quarantined": moved,
                        "ms": round(ms, 2)})
        log(f"  verify {number}: {moved} recordings quarantined in {ms:.1f} ms")
    return results


def quarantine_only(engine: Engine, numbers: list[str]) -> list[float]:
    out = []
    for number in numbers:
        with SqlUnitOfWork(engine) as uow:
            started = time.perf_counter()
            quarantine_number(uow, STAFF, number, datetime.now(UTC), cause="bench")
            uow.commit()
            out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--numbers", type=int, default=1_000_000,
                        help="distinct called numbers")
    parser.add_argument("--recorded-share", type=float, default=1.0,
                        help="share of calls with a stored recording")
    parser.add_argument("--trials", type=int, default=21)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="100,000 calls: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.numbers, args.trials = 100_000, 10_000, 7

    work = Path(tempfile.mkdtemp(prefix="privline-bench-quarantine-", dir=args.dir))
    pg = None
    try:
        if args.db == "postgres":
            from tests.support.postgres import ThrowawayPostgres

            pg = ThrowawayPostgres().start()
            url = pg.create_database("bench_quarantine")
        else:
            url = f"sqlite:///{work / 'privline.db'}"
        engine = make_engine(url)
        migrate(engine)
        log(f"loading {args.calls:,} calls ({args.db}) in {work}")
        setup = load(engine, args)
        typical = trial_numbers(args, args.trials + 5)
        trial_set, alone_set = typical[:args.trials], typical[args.trials:]
        entries = add_pending(engine, [*trial_set, *HEAVY])
        query_plan = plan(engine, trial_set[0])
        scan = scan_ms(engine, alone_set[0])
        results = run_trials(engine, entries)
        alone = quarantine_only(engine, alone_set)
        with engine.connect() as conn:
            totals = {"calls": conn.execute(select(func.count()).select_from(t.calls))
                      .scalar_one(),
                      "recordings": conn.execute(select(func.count())
                                                 .select_from(v.recordings)).scalar_one()}
        engine.dispose()
        print(json.dumps(report(args, setup, totals, results, alone, scan, query_plan),
                         indent=2))
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(args: argparse.Namespace, setup: dict[str, float], totals: dict[str, int],
           results: list[dict[str, Any]], alone: list[float], scan: float, query_plan: str
           ) -> dict[str, Any]:
    typical = [r for r in results if r["number"] not in HEAVY]
    heavy = [r for r in results if r["number"] in HEAVY]
    ms = sorted(r["ms"] for r in typical)
    median = statistics.median(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    heavy_median = statistics.median(r["ms"] for r in heavy)
    return {
        "benchmark": "retroactive_quarantine",
        "database": args.db,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "data": {**totals, "distinct_numbers": args.numbers,
                 "recorded_share": args.recorded_share,
                 **{f"{k}_seconds": round(x, 1) for k, x in setup.items()}},
        "verify_and_quarantine_ms": {
            "what": "registry.change_status(VERIFIED): entry, audit, quarantine, commit",
            "trials": len(typical),
            "recordings_per_number": statistics.median(r["recordings_quarantined"]
                                                       for r in typical),
            "median": round(median, 2), "p95": round(p95, 2), "max": round(ms[-1], 2),
            "first_trial": typical[0]["ms"],
        },
        "heavy_number_ms": {"recordings_per_number": heavy[0]["recordings_quarantined"],
                            "median": round(heavy_median, 2),
                            "trials": [r["ms"] for r in heavy]},
        "quarantine_step_only_ms": {"median": round(statistics.median(alone), 2),
                                    "trials": [round(a, 2) for a in alone]},
        "same_lookup_without_index_ms": round(scan, 1),
        "query_plan": query_plan,
        "targets": {"ms": TARGET_MS, "met": median <= TARGET_MS and p95 <= TARGET_MS,
                    "heavy_met": heavy_median <= TARGET_MS},
    }


if __name__ == "__main__":
    main()
