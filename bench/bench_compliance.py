"""Time to compute a compliance statement over N call records, on SQLite and PostgreSQL.

Prints one JSON object on stdout (progress goes to stderr). Each backend gets a fresh
database (SQLite in a temporary folder; PostgreSQL in the tests' throwaway cluster,
tests/support/postgres.py), migrated, then bulk-loaded with executemany (SQLite) or COPY
(PostgreSQL): N calls spread evenly over 2027-H1 at eight facilities, with what a real
half-year leaves beside them: a warning row for every recorded call that connected (and
a reminder for half of them), a ledger charge for every charged call, a vault recording
for every recorded call that connected, an imported registry (``--registry`` entries,
protected before the period), ``--tracked`` entries that residents requested and staff
verified during the period (each with its audit events, so the statement must rebuild
their history), and an audit chain of ``--audit`` entries with signed checkpoints.

Calls to imported numbers are private; calls to a tracked number are recorded before its
verification and private after, so the statement's "privileged at call time" must come
out exactly as generated (``figures_match``). The load is not what is timed.

Timed on the same database, in the same run:

- ``statement_s``: ``privline.services.compliance.issue`` end to end (one snapshot,
  every query, the audit chain's full verification, canonical JSON, Ed25519 signature),
  with ``phases_s`` splitting it by query;
- ``pdf_s``: rendering that statement's PDF (WeasyPrint + matplotlib);
- ``baseline_s``: one ``SELECT facility_id, mode, COUNT(*) FROM calls WHERE at in the
  period GROUP BY facility_id, mode`` over the same table: the floor of any pass.

    .venv/bin/python bench/bench_compliance.py                 # 10,000,000 calls, both
    .venv/bin/python bench/bench_compliance.py --quick         # 100,000 calls, a smoke run
    .venv/bin/python bench/bench_compliance.py --backend sqlite --calls 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text

from privline.adapters.db import make_engine, migrate
from privline.adapters.db.report_queries import SqlReportQueries, report_reader
from privline.adapters.signing import Ed25519Signer, verifies
from privline.domain.access import Role
from privline.domain.audit_chain import (
    GENESIS,
    Checkpoint,
    canonical_json,
    chain_hash,
    checkpoint_message,
    entry_bytes,
)
from privline.domain.model import Actor
from privline.domain.rates import FacilityKind, cap_in_force
from privline.services import compliance

REPO = Path(__file__).resolve().parent.parent
START = datetime(2027, 1, 1, tzinfo=UTC)
SPAN_S = 181 * 86400  # 2027-H1
AUDITOR = Actor("bench-auditor", Role.AUDITOR)
SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())
FACILITIES = (  # id, kind, ADP
    ("prison-a", FacilityKind.PRISON, 3000), ("prison-b", FacilityKind.PRISON, 1500),
    ("prison-c", FacilityKind.PRISON, 800), ("jail-a", FacilityKind.JAIL, 1200),
    ("jail-b", FacilityKind.JAIL, 400), ("jail-c", FacilityKind.JAIL, 120),
    ("jail-d", FacilityKind.JAIL, 75), ("jail-e", FacilityKind.JAIL, 40),
)
RESIDENTS_PER_FACILITY = 2500
FAMILY_NUMBERS = 200_000
CHUNK = 50_000


def _log(message: str) -> None:
    print(f"[bench_compliance] {message}", file=sys.stderr, flush=True)


# --- the data ---------------------------------------------------------------------------


class Clock:
    """Fast timestamp text for second offsets from START (no datetime per row)."""

    def __init__(self) -> None:
        days = [(START + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(200)]
        hms = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60)
               for s in range(60)]
        self.days, self.hms = days, hms

    def text(self, offset: int) -> str:
        return f"{self.days[offset // 86400]} {self.hms[offset % 86400]}.000000"


def rate_of(kind: FacilityKind, adp: int) -> str:
    return str(cap_in_force(kind, adp, START.date()).per_minute)


def imported_number(i: int) -> str:
    return f"+1800{i:07d}"


def tracked_number(i: int) -> str:
    return f"+1888{i:07d}"


def tracked_verified_at(i: int, tracked: int) -> int:
    """Seconds into the period at which tracked entry ``i`` is verified."""
    return 86400 * 10 + (i * (SPAN_S - 86400 * 20)) // max(tracked, 1)


def generate(args: argparse.Namespace, expected: Counter[str]
             ) -> Iterator[tuple[list[tuple[Any, ...]], ...]]:
    """Chunks of (calls, call_warnings, ledger, recordings) rows; fills ``expected``."""
    rnd = random.Random(args.seed)
    clock = Clock()
    rates = {fid: rate_of(kind, adp) for fid, kind, adp in FACILITIES}
    n = args.calls
    warning_id = ledger_id = recording_id = 0
    calls: list[tuple[Any, ...]] = []
    warnings: list[tuple[Any, ...]] = []
    ledger: list[tuple[Any, ...]] = []
    recordings: list[tuple[Any, ...]] = []
    for i in range(n):
        call_id = i + 1
        offset = (i * SPAN_S) // n
        at = clock.text(offset)
        facility_id = FACILITIES[i % len(FACILITIES)][0]
        resident = f"{facility_id}-r{rnd.randrange(RESIDENTS_PER_FACILITY)}"
        r = rnd.random()
        privileged = False
        if r < 0.04 and args.registry:
            number = imported_number(rnd.randrange(args.registry))
            privileged = True
        elif r < 0.05 and args.tracked:
            k = rnd.randrange(args.tracked)
            number = tracked_number(k)
            privileged = offset >= tracked_verified_at(k, args.tracked)
        else:
            number = f"+1212{rnd.randrange(FAMILY_NUMBERS):07d}"
        denied = not privileged and r > 0.92
        mode = "private" if privileged else ("denied" if denied else "recorded")
        reason = ("privileged_number" if privileged else
                  "insufficient_balance" if denied else "standard")
        rate = "0" if mode != "recorded" else rates[facility_id]
        connected = mode != "denied" and rnd.random() < 0.85
        answered = ended = None
        duration = charge = None
        if connected:
            duration = rnd.randrange(20, 900)
            answered, ended = clock.text(offset + 3), clock.text(offset + 3 + duration)
            charge = 0 if mode == "private" else int(
                float(rate) * 100 * -(-duration // 60) + 1e-9)
        calls.append((call_id, f"b{call_id:09d}@bench", at, facility_id, resident, number,
                      number, False, mode, reason, rate, 15, False, answered, ended,
                      duration if connected else 0, charge if connected else 0,
                      "bye" if connected else ("486" if mode != "denied" else None), None))
        expected[f"mode:{mode}"] += 1
        expected["privileged"] += privileged
        if mode == "recorded" and connected:
            expected["recorded_connected"] += 1
            warning_id += 1
            warnings.append((warning_id, call_id, answered, "recording_warning",
                             '{"result":"ok"}'))
            if call_id % 2:
                warning_id += 1
                warnings.append((warning_id, call_id, answered, "recording_reminder",
                                 '{"result":"ok"}'))
                expected["reminders"] += 1
            recording_id += 1
            recordings.append((recording_id, f"spool-{call_id}", f"b{call_id:09d}@bench",
                               call_id, facility_id, resident, number, at, "stored",
                               f"blob-{call_id}", b"k" * 40, "m1", duration * 1000, 0, 2,
                               ended))
        if charge:
            ledger_id += 1
            ledger.append((ledger_id, resident, "charge", -charge, f"b{call_id:09d}@bench",
                           f"{duration}s at {rate}/min", ended))
        if len(calls) >= CHUNK:
            yield calls, warnings, ledger, recordings
            calls, warnings, ledger, recordings = [], [], [], []
    if calls:
        yield calls, warnings, ledger, recordings


CALL_COLUMNS = ("id, sip_call_id, at, facility_id, resident_id, dialled, number, "
                "private_requested, mode, reason, rate_per_minute, max_minutes, review, "
                "answered_at, ended_at, duration_s, charge_cents, end_reason, fault")
WARNING_COLUMNS = "id, call_id, at, prompt, evidence"
LEDGER_COLUMNS = "id, resident_id, kind, amount_cents, call_id, memo, at"
RECORDING_COLUMNS = ("id, spool_key, sip_call_id, call_id, facility_id, resident_id, number, "
                     "call_at, state, blob_id, wrapped_key, master_key_id, audio_ms, "
                     "audio_bytes, channels, indexed_at")
REGISTRY_COLUMNS = ("id, number, kind, holder, credential, source, status, valid_from, "
                    "valid_until, note, created_at, updated_at, origin, last_seen_run")
AUDIT_COLUMNS = "seq, at, actor, action, subject, details, prev_hash, hash"


def static_rows(args: argparse.Namespace) -> dict[str, list[tuple[Any, ...]]]:
    """Facilities, residents, the registry and the audit chain (with its checkpoints)."""
    before = "2026-06-01 00:00:00.000000"
    clock = Clock()
    facilities = [(fid, fid.replace("-", " ").title(), kind.value, adp, "US", None, "011",
                   "refuse", True, None, 15, 300, "", "2026-05-01 00:00:00.000000")
                  for fid, kind, adp in FACILITIES]
    residents = [(f"{fid}-r{k}", fid, "x", True, 0, None, 100_000,
                  "2026-05-01 00:00:00.000000")
                 for fid, _, _ in FACILITIES for k in range(RESIDENTS_PER_FACILITY)]
    registry = [(i + 1, imported_number(i), "physician", f"Dr {i}", f"NPI {i}", "import",
                 "verified", before, "2028-06-01 00:00:00.000000", "", before, before,
                 "nppes", 1) for i in range(args.registry)]
    events: list[tuple[int, str, str, str, dict[str, Any]]] = []  # offset, actor, action...
    for k in range(args.tracked):
        entry_id = args.registry + k + 1
        requested = tracked_verified_at(k, args.tracked) - 5 * 86400
        verified = tracked_verified_at(k, args.tracked)
        registry.append((entry_id, tracked_number(k), "attorney",
                         f"requested by resident r{k}", f"resident:r{k}", "resident_request",
                         "verified", clock.text(requested), "2029-01-01 00:00:00.000000",
                         "", clock.text(requested), clock.text(verified), None, None))
        events.append((requested, "switch:kamailio", "registry.request",
                       f"registry:{entry_id}", {"number": tracked_number(k), "resident": "r"}))
        events.append((verified, "staff:sam", "registry.verify", f"registry:{entry_id}",
                       {"number": tracked_number(k), "previous": "pending", "note": ""}))
    filler = max(0, args.audit - len(events))
    for j in range(filler):
        events.append(((j * SPAN_S) // max(filler, 1), "switch:kamailio", "call.decide",
                       f"call:{j + 1}", {"mode": "recorded", "facility": "prison-a"}))
    events.sort(key=lambda e: e[0])
    audit, checkpoints = [], []
    prev = GENESIS
    for seq, (offset, actor, action, subject, details) in enumerate(events, start=1):
        at = START + timedelta(seconds=offset)
        body = canonical_json(details)
        digest = chain_hash(prev, entry_bytes(seq, at, actor, action, subject, body))
        audit.append((seq, clock.text(offset), actor, action, subject, body, prev, digest))
        if seq % 10_000 == 0 or seq == len(events):
            signature = SIGNER.sign(checkpoint_message(seq, digest)).hex()
            checkpoints.append((seq, digest, signature, SIGNER.key_id, clock.text(offset)))
        prev = digest
    return {"facilities": facilities, "residents": residents, "registry_entries": registry,
            "audit_events": audit, "audit_checkpoints": checkpoints,
            "head": [(len(audit), prev)]}


def load(engine: Engine, args: argparse.Namespace) -> Counter[str]:
    expected: Counter[str] = Counter()
    fixed = static_rows(args)
    tables = {
        "facilities": ("id, name, kind, adp, region, outside_prefix, international_prefix, "
                       "unknown_privilege, private_calls_free, rate_per_minute, "
                       "max_call_minutes, reminder_interval_s, phones, created_at"),
        "residents": ("id, facility_id, pin_hash, active, failed_pins, locked_until, "
                      "balance_cents, created_at"),
        "registry_entries": REGISTRY_COLUMNS,
        "audit_events": AUDIT_COLUMNS,
        "audit_checkpoints": "seq, hash, signature, key_id, at",
    }
    streamed = (("calls", CALL_COLUMNS), ("call_warnings", WARNING_COLUMNS),
                ("ledger", LEDGER_COLUMNS), ("recordings", RECORDING_COLUMNS))
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        if engine.dialect.name == "sqlite":
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("BEGIN")
            for table, columns in tables.items():
                _sqlite_insert(conn, table, columns, fixed[table])
            conn.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1",
                         fixed["head"][0])
            conn.execute("COMMIT")
            for done, chunk in enumerate(generate(args, expected)):
                conn.execute("BEGIN")
                for (table, columns), rows in zip(streamed, chunk, strict=True):
                    _sqlite_insert(conn, table, columns, rows)
                conn.execute("COMMIT")
                _progress(done, args.calls)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("ANALYZE")
        else:
            with conn.cursor() as cur:
                for table, columns in tables.items():
                    _copy(cur, table, columns, fixed[table])
                cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1",
                            fixed["head"][0])
                for done, chunk in enumerate(generate(args, expected)):
                    for (table, columns), rows in zip(streamed, chunk, strict=True):
                        _copy(cur, table, columns, rows)
                    _progress(done, args.calls)
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE")  # what autovacuum does soon after such a load
            conn.autocommit = False
    finally:
        raw.close()
    return expected


def _sqlite_insert(conn: Any, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        marks = ", ".join("?" * (columns.count(",") + 1))
        conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608


def _copy(cur: Any, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _progress(done: int, total: int) -> None:
    loaded = (done + 1) * CHUNK
    if loaded % 1_000_000 == 0:
        _log(f"loaded {loaded:,} of {total:,} calls")


# --- what is timed ----------------------------------------------------------------------


def timed_phases() -> tuple[dict[str, float], Callable[[], None]]:
    """Wrap every query of the report adapter to add up its time; returns an undo."""
    spent: dict[str, float] = Counter()
    originals = {}
    for name in ("audit_rows", "entry_rows", "track", "untracked_added",
                 "untracked_protected_at", "call_groups", "warning_groups",
                 "privileged_recorded", "ledger_groups", "incident_groups",
                 "destruction_groups", "hold_groups", "disclosures", "count_actions",
                 "audit_checkpoints", "audit_head", "facilities"):
        original = getattr(SqlReportQueries, name)
        originals[name] = original

        def wrapper(self: Any, *a: Any, _f: Any = original, _n: str = name, **k: Any) -> Any:
            began = time.perf_counter()
            try:
                return _f(self, *a, **k)
            finally:
                spent[_n] += time.perf_counter() - began
        setattr(SqlReportQueries, name, wrapper)
    original_entries = SqlReportQueries.audit_entries

    def entries(self: Any) -> Iterator[Any]:
        it = original_entries(self)
        while True:
            began = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                spent["audit_entries_read"] += time.perf_counter() - began
                return
            spent["audit_entries_read"] += time.perf_counter() - began
            yield item
    setattr(SqlReportQueries, "audit_entries", entries)  # noqa: B010 - patched for timing

    def undo() -> None:
        for name, original in originals.items():
            setattr(SqlReportQueries, name, original)
        setattr(SqlReportQueries, "audit_entries", original_entries)  # noqa: B010

    return spent, undo


def checkpoint_ok(cp: Checkpoint) -> bool:
    return verifies(SIGNER.public, checkpoint_message(cp.seq, cp.hash), cp.signature)


def bench_backend(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(url)
    migrate(engine)
    _log(f"{name}: loading {args.calls:,} calls")
    began = time.perf_counter()
    expected = load(engine, args)
    load_s = time.perf_counter() - began
    _log(f"{name}: loaded in {load_s:.0f} s; timing the baseline")
    began = time.perf_counter()
    with engine.connect() as conn:
        conn.execute(text("SELECT facility_id, mode, COUNT(*) FROM calls WHERE at >= :s "
                          "AND at < :e GROUP BY facility_id, mode"),
                     {"s": "2027-01-01 00:00:00.000000" if name == "sqlite" else START,
                      "e": "2027-07-01 00:00:00.000000" if name == "sqlite"
                      else START + timedelta(seconds=SPAN_S)}).all()
    baseline_s = time.perf_counter() - began
    _log(f"{name}: baseline {baseline_s:.1f} s; timing the statement")
    spent, undo = timed_phases()
    cpu, began = time.process_time(), time.perf_counter()
    try:
        issued = compliance.issue(report_reader(engine), SIGNER, AUDITOR, period="2027-H1",
                                  facility_ids=None, now=datetime(2027, 7, 2, tzinfo=UTC),
                                  checkpoint_ok=checkpoint_ok)
    finally:
        undo()
    statement_s, statement_cpu_s = time.perf_counter() - began, time.process_time() - cpu
    _log(f"{name}: statement {statement_s:.1f} s; rendering the PDF")
    from privline.adapters.reports import render_pdf

    began = time.perf_counter()
    pdf = render_pdf(issued.statement, issued.body)
    pdf_s = time.perf_counter() - began
    with engine.connect() as conn:
        sizes = {table: conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()  # noqa: S608
                 for table in ("calls", "call_warnings", "ledger", "recordings",
                               "registry_entries", "audit_events")}
        if name == "sqlite":
            size = conn.execute(text("SELECT page_count * page_size FROM pragma_page_count(), "
                                     "pragma_page_size()")).scalar_one()
        else:
            size = conn.execute(text("SELECT pg_database_size(current_database())")
                                ).scalar_one()
    engine.dispose()
    total = issued.statement["total"]
    figures = {
        "recorded": total["calls"]["by_mode"]["recorded"],
        "private": total["calls"]["by_mode"]["private"],
        "denied": total["calls"]["by_mode"]["denied"],
        "privileged": total["privileged"]["calls"],
        "privileged_recorded": total["privileged"]["recorded"],
        "recorded_connected": total["warnings"]["recorded_calls"],
        "warned": total["warnings"]["with_opening_warning"],
        "reminders": total["warnings"]["reminders_played"],
        "audit_entries_in_period": issued.statement["audit"]["entries_in_period"],
        "audit_ok": issued.statement["audit"]["at_issue"]["verification"]["ok"],
    }
    matches = (figures["recorded"] == expected["mode:recorded"]
               and figures["private"] == expected["mode:private"]
               and figures["denied"] == expected["mode:denied"]
               and figures["privileged"] == expected["privileged"]
               and figures["privileged_recorded"] == 0
               and figures["recorded_connected"] == expected["recorded_connected"]
               and figures["warned"] == expected["recorded_connected"]
               and figures["reminders"] == expected["reminders"]
               and figures["audit_ok"] is True)
    return {
        "statement_s": round(statement_s, 2),
        "statement_cpu_s": round(statement_cpu_s, 2),
        "baseline_s": round(baseline_s, 2),
        "ratio_to_baseline": round(statement_s / baseline_s, 1) if baseline_s else None,
        "phases_s": {k: round(v, 2) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])
                     if v >= 0.005},
        "pdf_s": round(pdf_s, 2),
        "pdf_bytes": len(pdf),
        "statement_json_bytes": len(issued.body),
        "load_s": round(load_s, 1),
        "rows": sizes,
        "database_bytes": int(size),
        "figures": figures,
        "figures_match": matches,
    }


def run(name: str, args: argparse.Namespace) -> dict[str, Any]:
    if name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="privline-bench-") as folder:
            result = bench_backend(name, f"sqlite:///{folder}/privline.db", args)
            result["server_version"] = sqlite3.sqlite_version
            return result
    sys.path.insert(0, str(REPO))  # the tests' throwaway cluster
    from tests.support.postgres import ThrowawayPostgres

    _log("postgres: starting a throwaway cluster")
    pg = ThrowawayPostgres().start()
    try:
        url = pg.create_database("privline_bench")
        result = bench_backend(name, url, args)
        result["settings"] = "throwaway cluster on 127.0.0.1, fsync=off, default memory"
        return result
    finally:
        pg.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, help="call records (10,000,000)")
    parser.add_argument("--registry", type=int, help="imported registry entries (1,000,000)")
    parser.add_argument("--tracked", type=int, help="entries verified in the period (2,000)")
    parser.add_argument("--audit", type=int, help="audit-chain entries (1,000,000)")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seed", type=int, default=20270101)
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    args = parser.parse_args(argv)
    defaults = ({"calls": 100_000, "registry": 20_000, "tracked": 200, "audit": 20_000}
                if args.quick else
                {"calls": 10_000_000, "registry": 1_000_000, "tracked": 2_000,
                 "audit": 1_000_000})
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    load_before = os.getloadavg()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    results = {name: run(name, args) for name in backends}
    print(json.dumps({
        "benchmark": "compliance_statement",
        "what": "privline.services.compliance.issue over one half-year (2027-H1), every "
                "call of it, 8 facilities; baseline: one COUNT(*) GROUP BY over the same "
                "calls",
        "calls": args.calls, "registry_entries": args.registry + args.tracked,
        "tracked_entries": args.tracked, "audit_entries": args.audit,
        "target": "statement_s <= 60 on SQLite at 10,000,000 calls",
        "results": results,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_1m_before_after": [round(load_before[0], 2),
                                                round(os.getloadavg()[0], 2)]},
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
