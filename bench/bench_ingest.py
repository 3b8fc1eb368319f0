"""Vault ingest through the service, one core: finished pcap in the spool to a stored,
indexed blob, with the privilege guard and the audit event, spool files removed.

bench/bench_vault.py measures the adapter's stages alone; this is the same work as
``privline vault ingest`` does it (two transactions, a registry check, the index row),
so the difference between the two is what the database side costs. Prints one JSON
object; MB are 10**6 bytes of decoded audio (the WAV).

    .venv/bin/python bench/bench_ingest.py            # 30-minute calls, 7 rounds, SQLite
    .venv/bin/python bench/bench_ingest.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.*: the same synthetic recordings as the tests

from tests.conftest import ADMIN, STAFF  # noqa: E402
from tests.integration.vault_support import (  # noqa: E402
    SWITCH,
    place_call,
    spool_recording,
    spool_root,
)

from privline.adapters.db import make_engine, migrate  # noqa: E402
from privline.adapters.db.engine import SqlUnitOfWork  # noqa: E402
from privline.adapters.pin_key import PinKeyring  # noqa: E402
from privline.adapters.signing import Ed25519Signer  # noqa: E402
from privline.adapters.vault import FolderBlobStore, MasterKey  # noqa: E402
from privline.adapters.vault.storage import Blobs, MasterKeyring, SpoolSource  # noqa: E402
from privline.domain.model import Facility  # noqa: E402
from privline.domain.rates import FacilityKind  # noqa: E402
from privline.services import facilities  # noqa: E402
from privline.services import vault as vault_service  # noqa: E402
from privline.services.ports import UnitOfWork  # noqa: E402
from privline.services.ports.vault import SpooledItem, Vault  # noqa: E402

TARGET_MB_S = 100.0
AT = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1800.0, help="call length")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="2-minute calls, 3 rounds")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 120.0, 3
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        pass
    home = Path(tempfile.mkdtemp(prefix="privline-bench-ingest-"))
    try:
        engine = make_engine(f"sqlite:///{home / 'privline.db'}")
        migrate(engine)
        signer = Ed25519Signer.load_or_create(home / "keys" / "signing.key")
        pins = PinKeyring.load_or_create(home / "keys" / "pin.key")

        def uow() -> UnitOfWork:
            return SqlUnitOfWork(engine, signer, 1000, pins)

        facilities.add_facility(uow, ADMIN, Facility("state-prison", "State Prison",
                                                     FacilityKind.PRISON, 1500), now=AT)
        facilities.add_resident(uow, STAFF, facility_id="state-prison", resident_id="R1001",
                                pin="2468", opening_balance_cents=2000, now=AT)
        spool = spool_root(home)
        vault = Vault(SpoolSource(spool), MasterKeyring(MasterKey.create(home / "master.key")),
                      Blobs(FolderBlobStore(home / "vault")))
        rounds = []
        for r in range(args.rounds + 1):  # round 0 warms up
            call_id = f"bench-{r}@ingest"
            place_call(uow, call_id, "+12125550100", at=AT + timedelta(minutes=r))
            spooled = spool_recording(spool, call_id, seconds=args.seconds, seed=1)
            item = SpooledItem(spooled.key, call_id)
            started = time.perf_counter()
            outcome, _ = vault_service.ingest_one(uow, SWITCH, vault, item,
                                                  now=AT + timedelta(hours=1))
            seconds = time.perf_counter() - started
            assert outcome is vault_service.Outcome.STORED
            with uow() as u:
                stored = u.recordings.by_spool_key(spooled.key)
            assert stored is not None and stored.audio_bytes is not None
            wav_bytes = stored.audio_bytes
            if r:
                rounds.append(wav_bytes / seconds / 1e6)
                log(f"round {r}: {rounds[-1]:.0f} MB/s")
        print(json.dumps(report(args, wav_bytes, rounds), indent=2))
    finally:
        shutil.rmtree(home, ignore_errors=True)


def report(args: argparse.Namespace, wav_bytes: int, rounds: list[float]) -> dict[str, Any]:
    median = statistics.median(rounds)
    return {
        "benchmark": "vault_ingest_service_one_core",
        "database": "sqlite",
        "input": {"call_seconds": args.seconds, "decoded_wav_bytes": wav_bytes},
        "median_mb_s": round(median, 1),
        "per_round_mb_s": [round(r, 1) for r in rounds],
        "calls_per_core_in_real_time": int(median * 1e6 / 32_000),
        "target_mb_s": TARGET_MB_S,
        "met": median >= TARGET_MB_S,
    }


if __name__ == "__main__":
    main()
