"""Call set-ups per second through Kamailio + rtpengine, privline routing vs native.

Three switches on the same machine, in the same run, each with the same rtpengine
settings and recording every call it records:

- native:   a minimal native kamailio.cfg that records every call (the baseline);
- privline: privline's Python routing with a constant "recorded" decision (the cost of
            the routing, rtpengine control and the agent);
- core:     privline's Python routing with the real core decision (database, audit,
            keyed PIN check) on SQLite;
- core_pg:  the same on PostgreSQL (a throwaway cluster, tests/support/postgres.py);
            only with ``--only ...,core_pg``.

Two loads: "sdp" (INVITE with SDP offer, no RTP, zero-length call) and "rtp" (1 s of
A-law each way; sipp's 7 s sample is cut by the BYE). Finished recordings are swept out
of the spool as the vault does in service (privline checks the spool for each recorded
call). Each load runs on a fresh switch and far end; sipp climbs a ladder of rates.

A call counts as completed when sipp completed it and, for the core variant, when its
call record is closed and billed in the database (the records the call agent writes
from the journal; the difference is reported as ``lost``). The "privline" variant's
constant decision is not in the database, so sipp's count is its figure. Per variant and
load the JSON gives ``max_clean_rate`` (the highest offered rate at which >= 99% of
calls completed; the climb stops after two failed steps in a row) and ``overload``: the
same switch offered 3x that rate, with the completed rate and its ratio to the clean
rate, and the INVITEs shed with 503 (docs/overload.md). In the core variant every other
call dials a verified attorney: ``attorney_recorded`` counts their records in recorded
mode and their pcaps in the spool (both must be 0).
Each step also gives ``cpu_ms_per_call``: the CPU time (user + system) each daemon
(Kamailio with all its workers, rtpengine, the call agent) spent in the step, per
completed call: where the time goes, less sensitive to the machine's other load than
the rates are. Prints one JSON object, with the machine's core count and load average.

    .venv/bin/python bench/bench_switch.py [--quick] [--only native,core,core_pg] [--loads sdp]
        [--rates 100,200]
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from sqlalchemy import create_engine, text  # noqa: E402
from tests.e2e.stack import (  # noqa: E402
    SAMPLE,
    SCENARIOS,
    free_phone_media,
    free_rtp_base,
    free_udp_port,
    stop_pid,
)
from tests.support.postgres import ThrowawayPostgres  # noqa: E402

from privline.adapters.switch import process  # noqa: E402
from privline.adapters.switch.config import (  # noqa: E402
    KAMAILIO_MEMORY,
    KAMAILIO_MODULES,
    SwitchConfig,
    render_rtpengine,
)
from privline.adapters.switch.recordings import escaped  # noqa: E402
from privline.adapters.switch.shed import shed_total  # noqa: E402
from privline.settings import Settings  # noqa: E402

NUMBER = "2025550143"
ATTORNEY = "2025550199"
# The "privline" variant's routing: a constant decision, in bench code (bench/switch_boot.py).
CONSTANT_ENTRY = "bench.switch_boot:mod_init"
RTP_PORTS = 6000


class Sweeper(threading.Thread):
    """Moves finished recordings (their metadata file has reached metadata/) out of the
    spool every half second, as `privline vault sweep` does in service, so the spool
    holds the calls in progress and not the whole run."""

    def __init__(self, spool: Path) -> None:
        super().__init__(daemon=True)
        self.spool = spool
        self.done = spool.parent / "swept"
        self.stopping = threading.Event()

    def run(self) -> None:
        self.done.mkdir(parents=True, exist_ok=True)
        while not self.stopping.wait(0.5):
            try:
                names = os.listdir(self.spool / "metadata")
            except FileNotFoundError:
                continue
            for name in names:
                key = name.removeprefix("rtpengine-meta-").removesuffix(".txt")
                for path in (self.spool / "pcaps" / f"{key}.pcap", self.spool / "metadata" / name):
                    with contextlib.suppress(FileNotFoundError):
                        path.rename(self.done / path.name)


def native_cfg(cfg: SwitchConfig) -> str:
    return f"""#!KAMAILIO
debug=1
log_stderror=yes
children={cfg.kamailio_children}
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{cfg.sip_port}
mpath="{KAMAILIO_MODULES}/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "textopsx.so"
loadmodule "rtpengine.so"
modparam("rtpengine", "rtpengine_sock", "udp:127.0.0.1:{cfg.ng_port}")
request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{
            if (is_method("BYE")) rtpengine_delete();
            t_relay();
            exit;
        }}
        if (is_method("ACK") && t_check_trans()) t_relay();
        exit;
    }}
    if (is_method("OPTIONS")) {{ sl_send_reply("200", "OK"); exit; }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ rtpengine_delete(); t_relay(); }} exit; }}
    if (!is_method("INVITE")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    t_check_trans();
    rtpengine_offer("replace-origin replace-session-connection ICE=remove record-call=yes");
    record_route();
    $ru = "sip:" + $rU + "@{cfg.trunk}";
    t_on_reply("ANSWER");
    t_relay();
}}
onreply_route[ANSWER] {{
    if (has_body("application/sdp")) rtpengine_answer("replace-origin replace-session-connection");
}}
"""


def scenario(name: str, rtp: bool, folder: Path) -> Path:
    text = (SCENARIOS / name).read_text()
    if not rtp:
        text = "\n".join(line for line in text.splitlines() if "play_pcap_audio" not in line)
    target = folder / f"{'rtp' if rtp else 'sdp'}-{name}"
    target.write_text(text.replace(str(SAMPLE), str(SAMPLE)))
    return target


def run_sipp(sip_port: int, rate: int, calls: int, pause_ms: int, xml: Path,
             csv: Path, folder: Path, prefix: str) -> tuple[int, int, float]:
    """One step; every Call-ID starts with ``prefix`` so the step's records can be told
    apart."""
    stats = folder / f"stats-{rate}-{time.monotonic_ns()}.csv"
    argv = ["sipp", "-sf", str(xml), "-inf", str(csv), "-i", "127.0.0.1",
            "-p", str(free_udp_port()), "-mp", str(free_phone_media()),
            f"127.0.0.1:{sip_port}", "-m", str(calls), "-r", str(rate),
            "-d", str(pause_ms), "-nostdin", "-timeout", str(int(calls / rate) + 15),
            "-trace_stat", "-stf", str(stats), "-fd", "1000",
            "-cid_str", f"{prefix}%u@bench"]
    start = time.monotonic()
    errors = folder / "sipp-errors.log"
    with errors.open("ab") as err:
        proc = subprocess.Popen(argv, cwd=folder, stdout=subprocess.DEVNULL, stderr=err)
    try:
        proc.wait(calls / rate + 25)
    except subprocess.TimeoutExpired:
        pass  # overloaded: the stats so far tell how many calls completed
    finally:
        stop_pid(proc)
    elapsed = time.monotonic() - start
    ok = failed = 0
    if stats.exists():
        lines = stats.read_text().splitlines()
        header = lines[0].split(";")
        last = lines[-1].split(";")
        ok = int(last[header.index("SuccessfulCall(C)")])
        failed = int(last[header.index("FailedCall(C)")])
    else:  # sipp did not start: say why instead of reporting a silent zero
        tail = errors.read_text(errors="replace").strip().splitlines()[-1:]
        print(f"  sipp failed at rate {rate}: {tail}", file=sys.stderr)
    return ok, failed, elapsed


def cpu_ticks(roots: dict[str, int]) -> dict[str, int]:
    """CPU time (user + system, in clock ticks) of each named process and all its
    descendants (Kamailio's workers are children of its main process): where a step's
    time went, per daemon."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    out = {}
    for name, root in roots.items():
        total, todo = 0, [root]
        while todo:
            pid = todo.pop()
            total += ticks.get(pid, 0)
            todo.extend(child for child, parent in parents.items() if parent == pid)
        out[name] = total
    return out


class Records:
    """The core variants' call records, read from their database (SQLite or PostgreSQL)."""

    def __init__(self, url: str, spool: Path) -> None:
        self.engine = create_engine(url)
        self.spool = spool

    def _query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        params = {f"p{i}": arg for i, arg in enumerate(args)}
        for name in params:
            sql = sql.replace("?", f":{name}", 1)
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]

    def closed(self, prefix: str) -> int:
        """Calls of one step with their record closed and billed, once the agent has
        caught up (the count stops moving)."""
        last, still, deadline = -1, 0, time.monotonic() + 60
        while time.monotonic() < deadline:
            now = int(self._query(
                "SELECT count(*) FROM calls WHERE sip_call_id LIKE ? AND ended_at IS NOT "
                "NULL AND charge_cents IS NOT NULL", prefix + "%")[0][0])
            still = still + 1 if now == last else 0
            if still >= 4:
                break
            last = now
            time.sleep(0.5)
        return last

    def outcomes(self) -> dict[str, int]:
        """Every decision of the run by mode, reason and end: what the failures were."""
        rows = self._query("SELECT mode, reason, coalesce(end_reason, 'open'), count(*) "
                           "FROM calls GROUP BY 1, 2, 3")
        return {f"{mode}/{reason}/{end}": int(n) for mode, reason, end, n in rows}

    def attorney_recorded(self) -> dict[str, int]:
        rows = self._query("SELECT sip_call_id, mode FROM calls WHERE number LIKE ?",
                           "%" + ATTORNEY)
        ids = {escaped(str(cid)) for cid, _ in rows if cid}
        pcaps = [p for folder in (self.spool / "pcaps", self.spool.parent / "swept")
                 if folder.exists() for p in folder.iterdir()
                 if p.suffix == ".pcap" and p.name.rpartition("-")[0] in ids]
        return {"attorney_calls": len(rows),
                "attorney_recorded": sum(1 for _, mode in rows if mode == "recorded"),
                "attorney_pcaps": len(pcaps)}


class Step:
    def __init__(self, sip_port: int, rtp: bool, folder: Path, csv: Path, seconds: float,
                 records: Records | None, shed_dir: Path | None,
                 roots: dict[str, int]) -> None:
        self.sip_port, self.rtp, self.folder, self.csv = sip_port, rtp, folder, csv
        self.seconds, self.records, self.shed_dir = seconds, records, shed_dir
        self.roots = roots
        self.xml = scenario("uac.xml", rtp, folder)

    def run(self, rate: int) -> dict[str, Any]:
        calls = max(20, int(rate * self.seconds))
        prefix = f"b{time.monotonic_ns()}-"
        shed = shed_total(self.shed_dir) if self.shed_dir else 0
        cpu = cpu_ticks(self.roots)
        ok, failed, elapsed = run_sipp(self.sip_port, rate, calls, 1000 if self.rtp else 0,
                                       self.xml, self.csv, self.folder, prefix)
        step: dict[str, Any] = {"rate": rate, "calls": calls, "sipp_ok": ok,
                                   "failed": failed, "seconds": round(elapsed, 1)}
        completed = ok
        if self.records is not None:
            completed = min(ok, self.records.closed(prefix))
            step["lost"] = ok - completed  # completed for the phone, no closed record
        step["completed"] = completed
        # Taken after the records settled, so the agent's work for the step is in it.
        spent = cpu_ticks(self.roots)
        tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
        step["cpu_ms_per_call"] = {name: round((spent[name] - cpu[name]) * tick_ms
                                               / max(1, completed), 2) for name in spent}
        if self.shed_dir:
            step["shed_503"] = shed_total(self.shed_dir) - shed
        print(f"  {self.xml.name} rate {rate}: {completed}/{calls} completed, "
              f"{step.get('shed_503', 0)} shed", file=sys.stderr)
        return step


def ladder(step: Step, rates: list[int]) -> dict[str, object]:
    steps = []
    best = misses = 0
    for rate in rates:
        result = step.run(rate)
        steps.append(result)
        if result["completed"] >= 0.99 * result["calls"]:
            best = rate
            misses = 0
        else:
            misses += 1
            if misses == 2:  # one bad step can be noise; two in a row is the limit
                break
        time.sleep(2)  # let half-finished calls drain
    out: dict[str, object] = {"max_clean_rate": best, "steps": steps}
    if best:
        time.sleep(2)
        over = step.run(3 * best)
        offered_s = over["calls"] / (3 * best)
        rate = over["completed"] / offered_s
        over["completed_per_s"] = round(rate, 1)
        over["vs_clean_rate"] = round(rate / best, 3)
        out["overload"] = over
    return out


def start_native(cfg: SwitchConfig) -> list[subprocess.Popen[bytes]]:
    for folder in (cfg.dir, cfg.run_dir, cfg.recording_dir):
        folder.mkdir(parents=True, exist_ok=True)
    (cfg.dir / "rtpengine.conf").write_text(render_rtpengine(cfg))
    (cfg.dir / "native.cfg").write_text(native_cfg(cfg))
    log = (cfg.dir / "native.log").open("ab")
    procs = [
        subprocess.Popen([shutil.which("rtpengine") or "rtpengine",
                          f"--config-file={cfg.dir / 'rtpengine.conf'}",
                          "--config-section=rtpengine"], stdout=log, stderr=log,
                         cwd=cfg.run_dir, start_new_session=True),
        subprocess.Popen(["/usr/sbin/kamailio", "-f", str(cfg.dir / "native.cfg"), "-DD",
                          "-E", *KAMAILIO_MEMORY, "-Y", str(cfg.run_dir)],
                         stdout=log, stderr=log, cwd=cfg.run_dir, start_new_session=True),
    ]
    deadline = time.monotonic() + 10
    while not process.sip_ping(cfg.sip_port):
        if time.monotonic() > deadline:
            for p in procs:
                stop_pid(p, 10)
            raise RuntimeError(f"native kamailio did not start; see {cfg.dir}/native.log")
        time.sleep(0.1)
    return procs


def populate(home: Path, env: dict[str, str]) -> None:
    privline = str(Path(sys.executable).parent / "privline")

    def run(*args: str) -> None:
        subprocess.run([privline, *args], env=env, check=True, capture_output=True)

    run("init")
    run("facility", "add", "--id", "f1", "--name", "Bench Jail", "--kind", "jail", "--adp",
        "500", "--phones", "127.0.0.1/32")
    run("resident", "add", "--facility", "f1", "--id", "r1", "--pin", "1234",
        "--balance", "10000.00")
    run("registry", "add", "--number", ATTORNEY, "--kind", "attorney", "--name",
        "Bench Counsel", "--credential", "NY-7654321", "--verified")


def run_variant(variant: str, load: str, home: Path, base: Path, csv: Path,
                seconds: float, rates: dict[str, list[int]], database_url: str | None
                ) -> dict[str, object]:
    """One ladder on a fresh switch and a fresh far end: an overloaded step leaves
    half-finished calls holding ports and state that would skew the next ladder."""
    uas_port = free_udp_port()
    uas = subprocess.Popen(["sipp", "-sf", str(scenario("uas.xml", load == "rtp", base)),
                            "-i", "127.0.0.1", "-p", str(uas_port),
                            "-mp", str(free_phone_media()), "-nostdin"],
                           cwd=base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return _run_variant(variant, load, home, uas_port, base, csv, seconds, rates,
                            database_url)
    finally:
        stop_pid(uas)


def _run_variant(variant: str, load: str, home: Path, uas_port: int, base: Path,
                 csv: Path, seconds: float, rates: dict[str, list[int]],
                 database_url: str | None) -> dict[str, object]:
    # 6,000 ports, not 14,000: a block that wide rarely found all its ports free beside
    # the e2e suite's daemons; a step of 40/s for 6 s and its 3x step use under 3,000.
    rtp = free_rtp_base(RTP_PORTS)
    env_in = {
        "PRIVLINE_HOME": str(home), "PRIVLINE_SIP_PORT": str(free_udp_port()),
        "PRIVLINE_SIP_TRUNK": f"127.0.0.1:{uas_port}", "PRIVLINE_NG_PORT": str(free_udp_port()),
        "PRIVLINE_RTP_PORTS": f"{rtp}-{rtp + RTP_PORTS - 2}", "PRIVLINE_SWITCH_INGEST": "0"}
    if database_url is not None:
        env_in["PRIVLINE_DATABASE_URL"] = database_url
    settings = Settings.from_env(env_in)
    env = settings.child_env()
    cfg = SwitchConfig.from_settings(settings)
    procs: list[subprocess.Popen[bytes]] = []
    if variant == "native":
        procs = start_native(cfg)
    else:
        populate(home, env)  # the agent writes call records in both variants
        if variant.startswith("core"):
            process.up(cfg, env)
        else:
            cfg = replace(cfg, python_paths=(*cfg.python_paths, str(ROOT)))
            process.up(cfg, env, entry=CONSTANT_ENTRY)
    sweeper = Sweeper(cfg.recording_dir)
    sweeper.start()
    records = None
    if variant.startswith("core"):
        records = Records(settings.database_url, cfg.recording_dir)
        csv = base / "calls-attorney.csv"
        csv.write_text(f"SEQUENTIAL\nx;f1;r1;1234;0;{NUMBER}\nx;f1;r1;1234;0;{ATTORNEY}\n")
    try:
        roots = ({"rtpengine": procs[0].pid, "kamailio": procs[1].pid} if variant == "native"
                 else {p.name: p.pid for p in process.read_state(cfg)})
        step = Step(cfg.sip_port, load == "rtp", base, csv, seconds, records,
                    None if variant == "native" else cfg.shed_dir, roots)
        result = ladder(step, rates[load])
        if records is not None:
            result.update(records.attorney_recorded())
            result["outcomes"] = records.outcomes()
            records.engine.dispose()
        return result
    finally:
        sweeper.stopping.set()
        if variant == "native":
            for p in procs:
                stop_pid(p, 10)
        else:
            process.down(cfg)


def main() -> None:
    # A SIGTERM unwinds like Ctrl-C, so every daemon started here is stopped by its PID.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    quick = "--quick" in sys.argv
    # core_pg: the core variant on PostgreSQL (a throwaway cluster, tests/support/postgres.py)
    variants = ["native", "privline", "core"]
    if "--only" in sys.argv:
        variants = sys.argv[sys.argv.index("--only") + 1].split(",")
    seconds = 4.0 if quick else 6.0
    # Native Kamailio with TLSF was clean at 600/s, the old top of its ladder: the
    # ladder goes on until two steps in a row fail, so the ratio is to its real limit.
    rates = {"sdp": [25, 50, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1200, 1500],
             "rtp": [10, 25, 50, 75, 100, 150, 200, 250, 300, 400]}
    core_rates = {"sdp": [2, 4, 8, 16, 32, 48, 64, 100, 150, 200, 250, 300, 350, 400, 500],
                  "rtp": [2, 4, 8, 16, 32, 48, 64, 100, 150, 200, 250, 300]}
    if "--rates" in sys.argv:  # a fixed ladder for every variant (profiling one rate)
        fixed = [int(r) for r in sys.argv[sys.argv.index("--rates") + 1].split(",")]
        rates = core_rates = {"sdp": fixed, "rtp": fixed}
    loads = ["sdp", "rtp"]
    if "--loads" in sys.argv:
        loads = sys.argv[sys.argv.index("--loads") + 1].split(",")
    results: dict[str, object] = {"machine": {"cpus": os.cpu_count(),
                                              "loadavg_start": os.getloadavg()},
                                  "seconds_per_step": seconds}
    pg = ThrowawayPostgres().start() if "core_pg" in variants else None
    with tempfile.TemporaryDirectory(prefix="privline-bench-") as tmp:
        base = Path(tmp)
        csv = base / "calls.csv"
        csv.write_text(f"SEQUENTIAL\nx;f1;r1;1234;0;{NUMBER}\n")
        try:
            for variant in variants:
                print(f"{variant}:", file=sys.stderr)
                results[variant] = {}
                for load in loads:
                    home = base / f"{variant}-{load}"
                    url = pg.create_database(f"bench_{load}") if variant == "core_pg" and pg \
                        else None
                    results[variant][load] = run_variant(  # type: ignore[index]
                        variant, load, home, base, csv, seconds,
                        core_rates if variant.startswith("core") else rates, url)
        finally:
            if pg is not None:
                pg.stop()
    summary = {}
    for load in loads:
        if "native" not in results:
            break
        native = results["native"][load]["max_clean_rate"]  # type: ignore[index]
        for variant in [v for v in variants if v != "native"]:
            mine = results[variant][load]["max_clean_rate"]  # type: ignore[index]
            summary[f"{variant}_vs_native_{load}"] = round(mine / native, 3) if native else None
    results["ratios"] = summary
    results["machine"]["loadavg_end"] = os.getloadavg()  # type: ignore[index]
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
