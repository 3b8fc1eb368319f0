"""CPU per call of Kamailio's Python routing alone, with the real decision on SQLite.

The routing (entrypoints/kamailio_app.py) is driven through a call's whole life as
Kamailio drives it (INVITE, the 180 and 200 replies, ACK, BYE, the dialog's end) by
``FakeKSR`` with the in-process ``MockRtpengine``, against a real home (``privline
init``, one facility, one resident, one verified attorney) and the real decision
(keyed PIN check, SQLite, audit). Half the calls dial the attorney. What it measures is
the Python a Kamailio worker runs per call, without Kamailio's C or rtpengine; the fake
KSR's own dictionary per ``pv.get`` is in the figure too (the same in every run).
``--profile`` prints cProfile's top functions by own time instead of the figures.

Prints one JSON object: CPU ms per call (process time), median of ``--rounds`` rounds of
``--calls`` calls, with the core count and load average.

    .venv/bin/python bench/bench_routing.py [--calls 400] [--rounds 5] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from privline.adapters.switch.config import SwitchConfig  # noqa: E402
from privline.adapters.switch.decisions import CoreDecisions  # noqa: E402
from privline.adapters.switch.journal import JournalWriter  # noqa: E402
from privline.adapters.switch.testing import FakeKSR, Message, MockRtpengine  # noqa: E402
from privline.bootstrap import bootstrap  # noqa: E402
from privline.entrypoints.kamailio_app import KamailioApp, Router  # noqa: E402
from privline.settings import Settings  # noqa: E402

NUMBER, ATTORNEY = "2025550143", "2025550199"
PHONE = {"X-Privline-Facility": "f1", "X-Privline-Resident": "r1", "X-Privline-PIN": "1234"}


def populate(env: dict[str, str]) -> None:
    privline = str(Path(sys.executable).parent / "privline")
    for args in (["init"],
                 ["facility", "add", "--id", "f1", "--name", "Bench Jail", "--kind", "jail",
                  "--adp", "500", "--phones", "127.0.0.1/32"],
                 ["resident", "add", "--facility", "f1", "--id", "r1", "--pin", "1234",
                  "--balance", "100000.00"],
                 ["registry", "add", "--number", ATTORNEY, "--kind", "attorney", "--name",
                  "Bench Counsel", "--credential", "NY-7654321", "--verified"]):
        subprocess.run([privline, *args], env=env, check=True, capture_output=True)


def one_call(app: KamailioApp, ksr: FakeKSR, n: int) -> None:
    """A call's life through the routing's entry points, as Kamailio calls them."""
    call_id, number = f"r{n}@bench", ATTORNEY if n % 2 else NUMBER
    ksr.message(Message(call_id=call_id, headers=dict(PHONE), ruri_user=number))
    app.ksr_request_route(None)
    for status in (180, 200):
        ksr.message(Message(call_id=call_id, status=status, to_tag="tt"))
        app.ksr_onreply_invite(None)
    ksr.message(Message(method="ACK", call_id=call_id, to_tag="tt"), loose_route=True)
    app.ksr_request_route(None)
    ksr.message(Message(method="BYE", call_id=call_id, to_tag="tt"), loose_route=True)
    app.ksr_request_route(None)
    app.ksr_dialog_event(None, "dialog:end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="privline-routing-") as tmp:
        settings = Settings.from_env({"PRIVLINE_HOME": tmp})
        populate(settings.child_env())
        cfg = SwitchConfig.from_settings(settings)
        for folder in (cfg.journal_dir, cfg.run_dir):
            folder.mkdir(parents=True, exist_ok=True)
        cfg.heartbeat.touch()
        runtime = bootstrap(settings, call_path=True)
        ksr = FakeKSR(MockRtpengine(cfg.recording_dir))
        app = KamailioApp(Router(cfg, CoreDecisions(runtime.uow),
                                 JournalWriter(cfg.journal_dir), ksr))
        for n in range(20):  # warm: caches, the pool's connection, the first audit rows
            one_call(app, ksr, -1 - n)
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for n in range(args.calls):
                one_call(app, ksr, n)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
            return
        rounds = []
        for r in range(args.rounds):
            start = time.process_time()
            for n in range(args.calls):
                one_call(app, ksr, (r + 1) * 100_000 + n)
            rounds.append((time.process_time() - start) * 1000 / args.calls)
        print(json.dumps({
            "cpu_ms_per_call_median": round(statistics.median(rounds), 3),
            "cpu_ms_per_call_rounds": [round(x, 3) for x in rounds],
            "calls_per_round": args.calls, "cpus": os.cpu_count(),
            "loadavg": os.getloadavg()}, indent=2))


if __name__ == "__main__":
    main()
