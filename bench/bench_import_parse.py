"""How fast the NPPES reader parses, and how much memory it holds, beside ``wc -l``.

Writes a synthetic NPPES-shaped file (``gen_nppes.py``) to a temporary folder, times
``wc -l`` on it, then parses it in a fresh child process (so the peak RSS is the
parser's own) and prints one JSON object. The file is deleted afterwards unless --keep.

    python bench/bench_import_parse.py [--rows 1000000] [--keep]

Target (issue 6): >= 100,000 rows/s and peak RSS < 500 MB for 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TARGET_ROWS_PER_SECOND = 100_000
TARGET_PEAK_RSS_MB = 500


def parse_in_this_process(path: Path) -> dict[str, object]:
    """Parse ``path`` completely; the child side of the benchmark."""
    from privline.adapters.imports import NppesProvider, open_nppes

    kinds: Counter[str] = Counter()
    ticks = 0

    def progress(_: int) -> None:
        nonlocal ticks
        ticks += 1

    started, cpu_started = time.perf_counter(), time.process_time()
    with open_nppes(path, progress=progress) as reader:
        for record in reader:
            kinds[record.kind.value if isinstance(record, NppesProvider) else "deactivated"] += 1
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "report": reader.report.summary(),
        "records_by_kind": dict(sorted(kinds.items())),
        "progress_calls": ticks,
        "peak_rss_mb": round(peak_rss_kb() / 1024, 1),
    }


def peak_rss_kb() -> int:
    """This process's own peak RSS.

    VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec, so a child started from a
    big parent would report the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def time_wc(path: Path) -> tuple[float, int]:
    wc = shutil.which("wc")
    if wc is None:
        raise SystemExit("wc is not installed")
    started = time.perf_counter()
    done = subprocess.run([wc, "-l", str(path)], check=True, capture_output=True, text=True)
    return time.perf_counter() - started, int(done.stdout.split()[0])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3,
                        help="parse this many times and report the fastest")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        json.dump(parse_in_this_process(args.child), sys.stdout)
        return 0

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from gen_nppes import write_nppes

    folder = Path(tempfile.mkdtemp(prefix="privline-bench-"))
    path = folder / "npidata_pfile_synthetic.csv"
    try:
        started = time.perf_counter()
        size = write_nppes(path, args.rows, seed=args.seed)
        generated = time.perf_counter() - started

        load_before = os.getloadavg()
        wc_runs: list[float] = []
        runs: list[dict[str, Any]] = []
        for _ in range(max(1, args.repeat)):
            wc_seconds, wc_lines = time_wc(path)  # the page cache is as warm for both
            wc_runs.append(wc_seconds)
            child = subprocess.run([sys.executable, __file__, "--child", str(path)],
                                   check=True, capture_output=True, text=True)
            runs.append(json.loads(child.stdout))
        load_after = os.getloadavg()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    parsed = min(runs, key=lambda run: float(run["seconds"]))
    wc_best = min(wc_runs)
    report = parsed["report"]
    rate = report["rows_read"] / parsed["seconds"]
    result = {
        "benchmark": "nppes_parse",
        "rows": args.rows,
        "file_bytes": size,
        "file": str(path) if args.keep else None,
        "generate_seconds": round(generated, 2),
        "wc_l_seconds": round(wc_best, 3),
        "wc_l_lines": wc_lines,
        "parse_seconds": round(parsed["seconds"], 2),
        "parse_seconds_all_runs": [round(float(run["seconds"]), 2) for run in runs],
        "parse_rows_per_second": round(rate),
        "parse_rows_per_cpu_second": round(report["rows_read"] / parsed["cpu_seconds"]),
        "parse_mb_per_second": round(size / parsed["seconds"] / 1e6, 1),
        "parse_over_wc_l": round(parsed["seconds"] / wc_best, 1),
        "peak_rss_mb": max(float(run["peak_rss_mb"]) for run in runs),
        "report": report,
        "records_by_kind": parsed["records_by_kind"],
        "progress_calls": parsed["progress_calls"],
        "target": {"rows_per_second": TARGET_ROWS_PER_SECOND,
                   "peak_rss_mb": TARGET_PEAK_RSS_MB},
        "meets_target": rate >= TARGET_ROWS_PER_SECOND
        and max(float(run["peak_rss_mb"]) for run in runs) < TARGET_PEAK_RSS_MB,
        "cpus": os.cpu_count(),
        "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "python": platform.python_version(),
    }
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
