"""Throughput through the voice menu, beside kiosk calls at the same rate in the same run.

One real switch (Kamailio + rtpengine + call agent + voice menu, the real decision on
SQLite), a sipp called party that presses 1. Phase "kiosk": calls with X-Privline-*
headers (the baseline); phase "menu": the same number of calls at the same rate from a
stock phone that keys its PIN as RFC 4733 digits. Half the calls go to a verified
attorney, half to an ordinary number. Per phase: offered, completed by sipp, records
answered (for the menu: accepted by the called party), records never closed, recorded
calls never billed, attorney calls recorded, and the median seconds from decision to
connection. Prints one JSON object with the menu/kiosk ratios.

    .venv/bin/python bench/bench_voice_menu.py [--rate 2] [--calls 40]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.bench_switch_load import settle  # noqa: E402
from tests.e2e.conftest import ATTORNEY, ORDINARY  # noqa: E402
from tests.e2e.stack import (  # noqa: E402
    SCENARIOS,
    Stack,
    digits_pcap,
    free_phone_media,
    free_udp_port,
    long_sample,
    start_stack,
    stop_pid,
)

from privline.adapters.switch.recordings import any_files  # noqa: E402

PIN = "2468"
TALK_MS = 20000  # after the PIN (menu) or after the answer (kiosk)


def run_phase(stack: Stack, name: str, rate: int, calls: int, folder: Path) -> dict[str, Any]:
    work = folder / name
    work.mkdir()
    csv = work / "calls.csv"
    if name == "kiosk":
        csv.write_text(f"SEQUENTIAL\nx;wall;rbench;{PIN};0;{ORDINARY}\n"
                       f"x;wall;rbench;{PIN};0;{ATTORNEY}\n")
        scenario = (SCENARIOS / "uac.xml").read_text().replace(
            "/usr/share/sip-tester/g711a.pcap", str(long_sample(stack.home / "sipp", 2)))
        xml = work / "uac.xml"
    else:
        csv.write_text(f"SEQUENTIAL\n{ORDINARY}\n{ATTORNEY.lstrip('+')}\n")
        pcap = digits_pcap(stack.home / "sipp", PIN + "#")
        scenario = (SCENARIOS / "menu_phone.xml").read_text().replace("DIGITS.pcap", str(pcap))
        xml = work / "menu_phone.xml"
    xml.write_text(scenario)
    stats = work / "stats.csv"
    tag = f"{name}{time.monotonic_ns()}"
    limit = calls / rate + TALK_MS / 1000 + 90
    argv = ["sipp", "-sf", str(xml), "-inf", str(csv), "-i", "127.0.0.1",
            "-p", str(free_udp_port()), "-mp", str(free_phone_media()),
            f"127.0.0.1:{stack.sip_port}", "-m", str(calls), "-r", str(rate),
            "-l", str(calls), "-d", str(TALK_MS), "-nostdin", "-trace_err",
            "-timeout", str(int(limit)),
            "-trace_stat", "-stf", str(stats), "-fd", "1", "-cid_str", f"{tag}-%u@bench"]
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        proc.wait(limit + 10)
    except subprocess.TimeoutExpired:
        pass
    finally:
        stop_pid(proc)
    sipp_s = time.monotonic() - started
    completed = 0
    if stats.exists():
        lines = stats.read_text().splitlines()
        header, last = lines[0].split(";"), lines[-1].split(";")
        completed = int(last[header.index("SuccessfulCall(C)")])
    errors = [line for log in work.glob("*_errors.log")
              for line in log.read_text(errors="replace").splitlines() if "Aborting" in line]
    records = settle(stack, [f"{tag}-{n}@bench" for n in range(1, calls + 1)], 300)
    listed = [r for r in records.values() if r is not None]
    connected_key = "accepted_at" if name == "menu" else "answered_at"
    connected = [r for r in listed if r.get(connected_key)]
    recorded = [r for r in connected if r["mode"] == "recorded"]
    unbilled = [r for r in recorded
                if not r["ledger_cents"] or r["ledger_cents"] != r["charge_cents"]]
    attorney_recorded = [c for c, r in records.items() if r is not None and
                         r["to"] == ATTORNEY and (r["mode"] != "private"
                                                  or any_files(stack.spool, c))]
    waits = [(datetime.fromisoformat(r[connected_key])
              - datetime.fromisoformat(r["decided_at"])).total_seconds() for r in connected]
    return {
        "rate": rate, "offered": calls, "completed_by_sipp": completed,
        "connected_records": len(connected),
        "records_never_closed": sum(r["ended_at"] is None for r in listed),
        "recorded_calls_never_billed": len(unbilled),
        "attorney_calls_recorded": len(attorney_recorded),
        "median_decision_to_connect_s": round(statistics.median(waits), 2) if waits else None,
        "sipp_seconds": round(sipp_s, 1),
        "outcomes": dict(Counter(
            f"{r['state']}/{r['reason']}/{r['end_reason']}" for r in listed)),
        "without_record": calls - len(listed),
        "sipp_aborts": len(errors), "sipp_abort_sample": [e[-160:] for e in errors[:2]],
    }


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=2)
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count(),
                                          "load_before": os.getloadavg()}}
    with tempfile.TemporaryDirectory(prefix="privline-menu-bench-") as tmp:
        stack = start_stack(Path(tmp) / "home", 60.0, far_end="called_party.xml")
        try:
            p = stack.privline
            p("init")
            p("facility", "add", "--id", "wall", "--name", "Bench Jail", "--kind", "jail",
              "--adp", "500", "--phones", "127.0.0.1/32")
            p("resident", "add", "--facility", "wall", "--id", "rbench", "--pin", PIN,
              "--balance", "900.00")
            p("registry", "add", "--number", ATTORNEY, "--kind", "attorney", "--name",
              "Ann Lawyer", "--credential", "NY-1234567", "--verified")
            stack.switch("up")
            for name in ("kiosk", "menu"):
                print(f"{name}: {args.calls} calls at {args.rate}/s", file=sys.stderr)
                result[name] = run_phase(stack, name, args.rate, args.calls, Path(tmp))
                print(f"  {result[name]}", file=sys.stderr)
        finally:
            stack.switch("down", check=False)
            for proc in stack.procs:
                stop_pid(proc)
    kiosk, menu = result["kiosk"], result["menu"]
    result["ratios"] = {
        "connected_menu_over_kiosk": round(
            menu["connected_records"] / max(1, kiosk["connected_records"]), 3),
        "completed_menu_over_kiosk": round(
            menu["completed_by_sipp"] / max(1, kiosk["completed_by_sipp"]), 3),
    }
    result["machine"]["load_after"] = os.getloadavg()
    result["invariants_hold"] = all(
        result[p][k] == 0 for p in ("kiosk", "menu")
        for k in ("records_never_closed", "recorded_calls_never_billed",
                  "attorney_calls_recorded"))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
