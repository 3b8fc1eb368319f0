"""End-to-end directory import: `privline registry import --format nppes` on a synthetic
NPPES-shaped file, in rows per second and peak RSS, beside `wc -l` on the same file in
the same run. Prints one JSON object.

The import runs as the installed command in a child process of its own (so its peak RSS
is its own), against a fresh SQLite home; a second run of the same file shows the
idempotent path (nothing added, everything confirmed).

    .venv/bin/python bench/bench_import.py [--rows 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_nppes import write_nppes  # noqa: E402 - the bench folder is not a package

PRIVLINE = str(Path(sys.executable).with_name("privline"))


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, stdout) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args[1:4]} failed: {err.strip()}")
    return elapsed, usage.ru_maxrss // 1024, out


def time_wc(path: Path) -> float:
    wc = shutil.which("wc") or "wc"
    start = time.perf_counter()
    subprocess.run([wc, "-l", str(path)], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="50,000 rows")
    args = parser.parse_args()
    rows = 50_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory(prefix="privline-import-bench-") as tmp:
        folder = Path(tmp)
        data = folder / "npidata_pfile.csv"
        write_nppes(data, rows)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRIVLINE_")}
        env["PRIVLINE_HOME"] = str(folder / "home")
        subprocess.run([PRIVLINE, "init"], env=env, check=True, capture_output=True)
        wc_s = min(time_wc(data) for _ in range(3))
        command = [PRIVLINE, "registry", "import", "--format", "nppes", str(data), "--json"]
        first_s, first_rss, first_out = run_child(command, env)
        again_s, again_rss, again_out = run_child(command, env)
        first: dict[str, Any] = json.loads(first_out)
        again: dict[str, Any] = json.loads(again_out)
        print(json.dumps({
            "benchmark": "registry_import_nppes",
            "rows": rows,
            "file_mb": round(data.stat().st_size / 1e6, 1),
            "cpu_count": os.cpu_count(),
            "loadavg_1m": os.getloadavg()[0],
            "backend": "sqlite",
            "first_import": {"seconds": round(first_s, 2), "rows_per_s": round(rows / first_s),
                             "peak_rss_mb": first_rss, "added": first["added"],
                             "listings": first["listings"], "complete": first["complete"]},
            "reimport": {"seconds": round(again_s, 2), "rows_per_s": round(rows / again_s),
                         "peak_rss_mb": again_rss, "added": again["added"],
                         "confirmed": again["confirmed"]},
            "wc_l_seconds": round(wc_s, 3),
            "import_vs_wc": round(first_s / wc_s, 1),
            "targets": {"rows_per_s": 100_000, "peak_rss_mb": 500},
            "self_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        }, indent=2))


if __name__ == "__main__":
    main()
