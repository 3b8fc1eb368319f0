"""What the API's doors (entrypoints/api/limits.py) cost and what they save.

Prints one JSON object. The same app is measured with its two middlewares (``doors``:
the body cap and the token checked before the body) and without them (``baseline``),
in process (Starlette's TestClient), on a SQLite home made by ``privline init --demo``:

- ``decision_ms``: median latency of an authenticated POST /api/v1/decisions, rounds
  alternating between the two apps so load on a shared machine hits both alike;
- ``unauthenticated_body``: a JSON body of ``--body-mb`` MB sent without a token, driven
  straight through ASGI: how many bytes the app read and how long it took to answer 401.

    .venv/bin/python bench/bench_api_doors.py            # 5 rounds of 200 decisions
    .venv/bin/python bench/bench_api_doors.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from privline.bootstrap import bootstrap
from privline.entrypoints.api.app import create_app
from privline.entrypoints.api.limits import BearerFirst, BodyLimit
from privline.entrypoints.cli.app import OPERATOR
from privline.entrypoints.demo import load_demo
from privline.services import users
from privline.settings import Settings

DECISION = {"facility": "demo-prison", "resident": "R1001", "to": "+12125550100"}


def _apps(home: Path) -> tuple[FastAPI, FastAPI, str]:
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'privline.db'}")
    rt = bootstrap(settings, create=True)
    load_demo(rt, OPERATOR)
    token = users.add_user(rt.uow, OPERATOR, name="bench", role="admin",
                           now=rt.clock())[1]
    doors = create_app(rt)
    baseline = create_app(rt)
    baseline.user_middleware = [m for m in baseline.user_middleware
                                if m.cls not in (BodyLimit, BearerFirst)]
    return doors, baseline, token


def _decisions(client: TestClient, token: str, n: int) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    times = []
    for _ in range(n):
        start = time.perf_counter()
        answer = client.post("/api/v1/decisions", json=DECISION, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, answer.text
    return statistics.median(times)


async def _unauthenticated(app: FastAPI, megabytes: int) -> dict[str, Any]:
    chunk = b" " * (1 << 20)
    chunks = [b'{"facility": "' + chunk[14:]] + [chunk] * (megabytes - 1) + [b'"}']
    read = sent = status = 0

    async def receive() -> dict[str, Any]:
        nonlocal read, sent
        if sent == len(chunks):
            return {"type": "http.disconnect"}
        sent += 1
        read += len(chunks[sent - 1])
        return {"type": "http.request", "body": chunks[sent - 1],
                "more_body": sent < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/api/v1/decisions",
             "raw_path": b"/api/v1/decisions", "root_path": "", "query_string": b"",
             "headers": [(b"content-type", b"application/json")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    start = time.perf_counter()
    await app(scope, receive, send)  # type: ignore[arg-type]
    return {"status": status, "bytes_read": read,
            "ms": round((time.perf_counter() - start) * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--body-mb", type=int, default=50)
    args = parser.parse_args()
    rounds, per_round = (2, 30) if args.quick else (5, 200)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        doors, baseline, token = _apps(Path(tmp) / "home")
        medians: dict[str, list[float]] = {"doors": [], "baseline": []}
        with TestClient(doors) as c_doors, TestClient(baseline) as c_base:
            _decisions(c_doors, token, 5)
            _decisions(c_base, token, 5)
            for _ in range(rounds):
                medians["doors"].append(_decisions(c_doors, token, per_round))
                medians["baseline"].append(_decisions(c_base, token, per_round))
        body_mb = 2 if args.quick else args.body_mb
        unauth = {name: asyncio.run(_unauthenticated(app, body_mb))
                  for name, app in (("doors", doors), ("baseline", baseline))}
    doors_ms = statistics.median(medians["doors"])
    base_ms = statistics.median(medians["baseline"])
    print(json.dumps({
        "decision_ms": {"doors": round(doors_ms, 3), "baseline": round(base_ms, 3),
                        "doors_over_baseline": round(doors_ms / base_ms, 3),
                        "rounds": {k: [round(v, 3) for v in vs] for k, vs in medians.items()},
                        "requests_per_round": per_round},
        "unauthenticated_body": {"body_mb": body_mb, **unauth},
        "machine": {"cores": os.cpu_count(),
                    "loadavg_1m_before_after": [round(load_before, 2),
                                                round(os.getloadavg()[0], 2)]},
    }, sort_keys=True))


if __name__ == "__main__":
    main()
