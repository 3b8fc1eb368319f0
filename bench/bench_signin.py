"""What accounts cost per request and per sign-in, beside a baseline in the same run.

Prints one JSON object on stdout.

- ``resume``: ``sessions.resume`` for a live session, as every operator's page calls it
  (look the session up by its SHA-256, load the user, decide idle/lifetime). Baseline:
  ``users.authenticate`` for an API token (the same kind of lookup every API request
  made before accounts existed). Both on one SQLite file; medians of rounds.
- ``sign_in``: password check (argon2id) plus TOTP code plus the session row and its
  audit event, per sign-in. Baseline: one argon2id verify alone (the floor: the
  password's cost by design).

    .venv/bin/python bench/bench_signin.py [--rounds 7] [--n 300] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from privline.adapters.db import make_engine, migrate
from privline.adapters.db.engine import SqlUnitOfWork
from privline.domain.access import Role
from privline.domain.model import Actor
from privline.services import sessions, users
from privline.services.passwords import hash_password, password_matches
from privline.services.ports import UnitOfWork

ADMIN = Actor("bench", Role.ADMIN)
PASSWORD = "a long benchmark passphrase"  # noqa: S105 - a throwaway database
LIMITS = sessions.Limits(idle=timedelta(minutes=30), lifetime=timedelta(hours=12))


def per_call(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6  # microseconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="3 rounds of 50: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.n = 3, 50
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate(engine)

        def uow() -> UnitOfWork:
            return SqlUnitOfWork(engine)

        now = datetime.now(UTC)
        made = users.add_user(uow, ADMIN, name="stu", role="staff", now=now,
                              password=PASSWORD)
        token = str(made.token)
        checked = sessions.check_password(uow, name="stu", password=PASSWORD,
                                          address="bench", now=now)
        live = sessions.finish_signin(uow, checked=checked, code="", address="bench",
                                      now=now)
        pw_hash = hash_password(PASSWORD)
        resume, token_auth, signin, argon = [], [], [], []
        for _ in range(args.rounds):
            token_auth.append(per_call(lambda: users.authenticate(uow, token, now=now),
                                       args.n))
            resume.append(per_call(lambda: sessions.resume(uow, live.session_id, now=now,
                                                           limits=LIMITS), args.n))

            def one_signin() -> None:
                c = sessions.check_password(uow, name="stu", password=PASSWORD,
                                            address="bench", now=now)
                sessions.finish_signin(uow, checked=c, code="", address="bench", now=now)

            signin.append(per_call(one_signin, max(args.n // 30, 5)))
            argon.append(per_call(lambda: password_matches(pw_hash, PASSWORD),
                                  max(args.n // 30, 5)))
    med = statistics.median
    print(json.dumps({
        "cores": os.cpu_count(), "load_1min": os.getloadavg()[0], "rounds": args.rounds,
        "resume_us_median": round(med(resume), 1),
        "baseline_token_auth_us_median": round(med(token_auth), 1),
        "resume_vs_token_ratio": round(med(resume) / med(token_auth), 2),
        "sign_in_ms_median": round(med(signin) / 1000, 2),
        "baseline_argon2_verify_ms_median": round(med(argon) / 1000, 2),
        "sign_in_vs_argon2_ratio": round(med(signin) / med(argon), 2),
    }, sort_keys=True))


if __name__ == "__main__":
    sys.exit(main())
