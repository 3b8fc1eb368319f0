"""The audit log: appends per second, and verification beside raw SHA-256 of the same bytes.

Prints one JSON object on stdout (progress on stderr).

- ``append``: events appended through the service path (``audit.record`` in a
  ``SqlUnitOfWork``, one event per transaction, as every service writes them), with a
  signing key so a checkpoint is signed every 1,000 entries. Median of rounds.
- ``verify``: ``audit.verify`` over the whole chain, as ``privline audit verify`` runs it:
  read every entry from the database, rebuild its canonical bytes, rehash, compare, and
  check every checkpoint's signature. The chain is first grown to ``--entries`` with
  rows written straight to the table (hashes computed the same way), so the verification
  runs over a realistic length without waiting for the appender.
- ``raw_sha256``: the same chained hashing over the same bytes (each entry's previous
  hash and canonical bytes, prepared in memory beforehand): the floor verification could
  reach if reading and re-encoding cost nothing. The target is verify >= 0.3x raw.

    .venv/bin/python bench/bench_audit.py                 # SQLite file, 200,000 entries
    .venv/bin/python bench/bench_audit.py --db postgres   # a throwaway PostgreSQL
    .venv/bin/python bench/bench_audit.py --quick
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support.postgres: the same throwaway cluster as tests

from sqlalchemy import Engine, insert, update  # noqa: E402

from privline.adapters.db import make_engine, migrate  # noqa: E402
from privline.adapters.db import tables as t  # noqa: E402
from privline.adapters.db.engine import SqlUnitOfWork  # noqa: E402
from privline.adapters.signing import Ed25519Signer, verifies  # noqa: E402
from privline.domain.access import Role  # noqa: E402
from privline.domain.audit_chain import (  # noqa: E402
    GENESIS,
    Checkpoint,
    canonical_json,
    chain_hash,
    checkpoint_message,
    entry_bytes,
)
from privline.domain.model import Actor  # noqa: E402
from privline.services import audit  # noqa: E402
from privline.services.ports import UnitOfWork  # noqa: E402

TARGET_VERIFY_VS_RAW = 0.3
ACTOR = Actor("bench", Role.ADMIN)
AUDITOR = Actor("bench-auditor", Role.AUDITOR)
START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def details(i: int) -> dict[str, Any]:
    """An event the size of a real one (a call decision's details)."""
    return {"sip_call_id": f"{i:08x}-4c1a@10.20.0.5", "facility": "state-prison",
            "resident": f"R{i % 5000:05d}", "number": f"+1212555{i % 10000:04d}",
            "mode": "recorded", "reason": "ordinary", "review": False}


def append_round(engine: Engine, signer: Ed25519Signer, n: int, first: int) -> float:
    def uow() -> UnitOfWork:
        return SqlUnitOfWork(engine, signer, 1000)

    started = time.perf_counter()
    for i in range(first, first + n):
        with uow() as u:
            audit.record(u, ACTOR, "call.decide", f"call:{i}", START + timedelta(seconds=i),
                         **details(i))
            u.commit()
    return time.perf_counter() - started


def grow_chain(engine: Engine, signer: Ed25519Signer, target: int) -> None:
    """Append rows straight to the table until the chain has ``target`` entries."""
    with engine.begin() as conn:
        seq, prev = conn.execute(t.audit_head.select().with_only_columns(
            t.audit_head.c.seq, t.audit_head.c.hash)).one()
        rows, cps = [], []
        while seq < target:
            seq += 1
            at = START + timedelta(seconds=seq)
            body = canonical_json(details(seq))
            digest = chain_hash(prev, entry_bytes(seq, at, "admin:bench", "call.decide",
                                                  f"call:{seq}", body))
            rows.append({"seq": seq, "at": at, "actor": "admin:bench",
                         "action": "call.decide", "subject": f"call:{seq}", "details": body,
                         "prev_hash": prev, "hash": digest})
            if seq % 1000 == 0:
                cps.append({"seq": seq, "hash": digest, "key_id": signer.key_id, "at": at,
                            "signature": signer.sign(checkpoint_message(seq, digest)).hex()})
            prev = digest
            if len(rows) == 20_000:
                conn.execute(insert(t.audit_events), rows)
                rows = []
        if rows:
            conn.execute(insert(t.audit_events), rows)
        if cps:
            conn.execute(insert(t.audit_checkpoints), cps)
        conn.execute(update(t.audit_head).where(t.audit_head.c.id == 1)
                     .values(seq=seq, hash=prev))


def verify_round(engine: Engine, signer: Ed25519Signer) -> tuple[float, int]:
    def ok(cp: Checkpoint) -> bool:
        return verifies(signer.public, checkpoint_message(cp.seq, cp.hash), cp.signature)

    started = time.perf_counter()
    verdict = audit.verify(lambda: SqlUnitOfWork(engine), AUDITOR, ok)
    seconds = time.perf_counter() - started
    assert verdict.ok, verdict
    return seconds, verdict.entries


def raw_inputs(engine: Engine) -> list[tuple[bytes, bytes]]:
    """(previous hash, canonical bytes) of every entry, as verification hashes them."""
    with SqlUnitOfWork(engine) as uow:
        return [(bytes.fromhex(e.prev_hash),
                 entry_bytes(e.seq, e.at, e.actor, e.action, e.subject, e.details))
                for e in uow.audit.entries()]


def raw_round(inputs: list[tuple[bytes, bytes]]) -> float:
    sha256 = hashlib.sha256
    started = time.perf_counter()
    prev = bytes.fromhex(GENESIS)
    for _, payload in inputs:
        prev = sha256(prev + payload).digest()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--entries", type=int, default=200_000, help="chain length to verify")
    parser.add_argument("--appends", type=int, default=2000, help="appends per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.appends, args.rounds = 20_000, 300, 3

    work = Path(tempfile.mkdtemp(prefix="privline-bench-audit-"))
    pg = None
    try:
        if args.db == "postgres":
            from tests.support.postgres import ThrowawayPostgres

            pg = ThrowawayPostgres().start()
            url = pg.create_database("bench_audit")
        else:
            url = f"sqlite:///{work / 'privline.db'}"
        engine = make_engine(url)
        migrate(engine)
        signer = Ed25519Signer.load_or_create(work / "signing.key")

        appends = []
        for r in range(args.rounds):
            seconds = append_round(engine, signer, args.appends, 1 + r * args.appends)
            appends.append(args.appends / seconds)
            log(f"append round {r + 1}: {appends[-1]:.0f} events/s")
        grow_chain(engine, signer, args.entries)
        inputs = raw_inputs(engine)
        per_round = []
        for r in range(args.rounds):
            verify_s, entries = verify_round(engine, signer)
            raw_s = raw_round(inputs)
            per_round.append({"verify_entries_s": entries / verify_s,
                              "raw_sha256_entries_s": len(inputs) / raw_s,
                              "ratio": raw_s / verify_s})
            log(f"verify round {r + 1}: {entries / verify_s:.0f} entries/s, "
                f"raw {len(inputs) / raw_s:.0f}/s, ratio {raw_s / verify_s:.3f}")
        engine.dispose()
        payload_bytes = sum(32 + len(p) for _, p in inputs)
        print(json.dumps(report(args, appends, per_round, len(inputs), payload_bytes),
                         indent=2))
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(args: argparse.Namespace, appends: list[float], rounds: list[dict[str, float]],
           entries: int, payload_bytes: int) -> dict[str, Any]:
    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    ratio = median("ratio")
    return {
        "benchmark": "audit_chain",
        "database": args.db,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "append": {"events_per_transaction": 1, "rounds": len(appends),
                   "events_per_round": args.appends,
                   "median_events_s": round(statistics.median(appends)),
                   "per_round": [round(a) for a in appends]},
        "verify": {"entries": entries, "hashed_bytes": payload_bytes,
                   "median_entries_s": round(median("verify_entries_s")),
                   "median_raw_sha256_entries_s": round(median("raw_sha256_entries_s")),
                   "median_ratio_vs_raw_sha256": round(ratio, 3),
                   "per_round": [{k: round(v, 3) for k, v in r.items()} for r in rounds]},
        "targets": {"verify_vs_raw_sha256": TARGET_VERIFY_VS_RAW,
                    "met": ratio >= TARGET_VERIFY_VS_RAW},
    }


if __name__ == "__main__":
    main()
