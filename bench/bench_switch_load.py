"""Call records under load: a steady rate, then ten times that (overload), through the
real switch (Kamailio + rtpengine + call agent, the real decision on SQLite).

Half the calls go to a verified attorney, half to an ordinary number. After each phase
the bench waits for the switch to settle (every record closed, or a generous deadline)
and reads `privline calls list --json` and the database. Per phase it prints: calls
offered, completed by sipp, answered records, records never closed, recorded calls never
billed (or billed other than the ledger says), attorney calls recorded. The last three
must be 0 in every phase; the steady phase is the baseline the overload is read against.
Prints one JSON object.

    .venv/bin/python bench/bench_switch_load.py [--rate 10] [--calls 200] [--pause-ms 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.e2e.conftest import ATTORNEY, ORDINARY, PINS, populate  # noqa: E402
from tests.e2e.stack import (  # noqa: E402
    SCENARIOS,
    Stack,
    free_phone_media,
    free_udp_port,
    long_sample,
    start_stack,
    stop_pid,
)

from privline.adapters.switch.recordings import any_files  # noqa: E402


def run_phase(stack: Stack, name: str, rate: int, calls: int, pause_ms: int,
              folder: Path) -> dict[str, Any]:
    work = folder / name
    work.mkdir()
    csv = work / "calls.csv"
    csv.write_text(f"SEQUENTIAL\nx;f1;rsoak;{PINS['rsoak']};0;{ORDINARY}\nx;f1;rsoak;{PINS['rsoak']};0;{ATTORNEY}\n")
    xml = work / "uac.xml"
    sample = long_sample(stack.home / "sipp", 1)
    xml.write_text((SCENARIOS / "uac.xml").read_text().replace(
        "/usr/share/sip-tester/g711a.pcap", str(sample)))
    stats = work / "stats.csv"
    tag = f"{name}{time.monotonic_ns()}"
    argv = ["sipp", "-sf", str(xml), "-inf", str(csv), "-i", "127.0.0.1",
            "-p", str(free_udp_port()), "-mp", str(free_phone_media()),
            f"127.0.0.1:{stack.sip_port}", "-m", str(calls), "-r", str(rate),
            "-l", str(calls), "-d", str(pause_ms), "-nostdin",
            "-timeout", str(int(calls / rate + pause_ms / 1000) + 60),
            "-trace_stat", "-stf", str(stats), "-fd", "1", "-cid_str", f"{tag}-%u@load"]
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        proc.wait(calls / rate + pause_ms / 1000 + 90)
    except subprocess.TimeoutExpired:
        pass
    finally:
        stop_pid(proc)
    sipp_s = time.monotonic() - started
    completed = failed = 0
    if stats.exists():
        lines = stats.read_text().splitlines()
        header, last = lines[0].split(";"), lines[-1].split(";")
        completed = int(last[header.index("SuccessfulCall(C)")])
        failed = int(last[header.index("FailedCall(C)")])
    call_ids = [f"{tag}-{n}@load" for n in range(1, calls + 1)]
    settle_start = time.monotonic()
    records = settle(stack, call_ids, deadline_s=300)
    settle_s = time.monotonic() - settle_start
    listed = [r for r in records.values() if r is not None]
    answered = [r for r in listed if r["answered_at"]]
    never_closed = [r for r in listed if r["ended_at"] is None]
    recorded = [r for r in answered if r["mode"] == "recorded"]
    unbilled = [r for r in recorded
                if not r["ledger_cents"] or r["ledger_cents"] != r["charge_cents"]]
    attorney = [c for c, r in records.items() if r is not None and r["to"] == ATTORNEY]
    attorney_recorded = [c for c in attorney
                         if records[c]["mode"] != "private" or any_files(stack.spool, c)]
    return {
        "rate": rate, "offered": calls, "completed_by_sipp": completed,
        "failed_in_sipp": failed, "answered_records": len(answered),
        "refused_records": sum(r["state"] == "refused" for r in listed),
        "without_record": calls - len(listed),
        "records_never_closed": len(never_closed),
        "recorded_calls_never_billed": len(unbilled),
        "attorney_calls": len(attorney), "attorney_calls_recorded": len(attorney_recorded),
        "sipp_seconds": round(sipp_s, 1), "settle_seconds": round(settle_s, 1),
    }


def settle(stack: Stack, call_ids: list[str], deadline_s: float
           ) -> dict[str, dict[str, Any] | None]:
    """Wait until every call that reached the switch has a closed record (or the
    deadline): what the records say once the journal has been applied."""
    deadline = time.monotonic() + deadline_s
    while True:
        listed = stack.calls_list()
        records = {c: listed.get(c) for c in call_ids}
        if all(r is None or r["ended_at"] is not None for r in records.values()) \
                or time.monotonic() > deadline:
            return records
        time.sleep(1.0)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=10)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--pause-ms", type=int, default=2000)
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count(),
                                          "load_before": os.getloadavg()}}
    with tempfile.TemporaryDirectory(prefix="privline-load-") as tmp:
        home = Path(tmp) / "home"
        stack = start_stack(home, 60.0)
        try:
            populate(stack)
            stack.switch("up")
            phases = [("steady", args.rate, args.calls),
                      ("overload", args.rate * 10, args.calls * 10)]
            for name, rate, calls in phases:
                print(f"{name}: {calls} calls at {rate}/s", file=sys.stderr)
                result[name] = run_phase(stack, name, rate, calls, args.pause_ms, Path(tmp))
                print(f"  {result[name]}", file=sys.stderr)
        finally:
            stack.switch("down", check=False)
            for proc in stack.procs:
                stop_pid(proc)
    steady, overload = result["steady"], result["overload"]
    result["ratios"] = {
        "answered_share_steady": round(steady["answered_records"] / steady["offered"], 3),
        "answered_share_overload": round(overload["answered_records"] / overload["offered"], 3),
    }
    result["machine"]["load_after"] = os.getloadavg()
    result["invariants_hold"] = all(
        result[p][k] == 0 for p in ("steady", "overload")
        for k in ("records_never_closed", "recorded_calls_never_billed",
                  "attorney_calls_recorded"))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
