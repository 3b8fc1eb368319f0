"""The count of call set-ups refused for overload (503 + Retry-After).

A refusal at overload is not a call record: writing one per refused INVITE would put
the most database work on the switch exactly when the database is its bottleneck (see
docs/overload.md). Each Kamailio worker keeps its own running count in memory and
rewrites it in place in its own small file (one ``pwrite``, no fsync, no lock); the
total is the sum of the files, which `privline switch status` shows.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

WIDTH = 20  # digits: a fixed-width count overwrites the previous one exactly


class ShedCounter:
    """One per Kamailio worker; the file is opened lazily, after Kamailio's fork."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self._fd: int | None = None
        self._pid = 0

    def add(self) -> None:
        """Count one refusal. Never raises: a full disk must not stop the shedding."""
        try:
            if self._fd is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self.count = 0
                self.folder.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.folder / f"{self._pid}-{time.time_ns()}",
                                   os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self.count += 1
            os.pwrite(self._fd, f"{self.count:0{WIDTH}d}\n".encode(), 0)
        except OSError:
            pass


def shed_total(folder: Path) -> int:
    """INVITEs refused for overload by every worker that ever ran in this home (the
    files outlive restarts, so the count is cumulative)."""
    total = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    with open(entry.path, encoding="ascii") as f:
                        total += int(f.read().strip() or 0)
                except (OSError, ValueError):
                    continue  # a file being created reads empty: counted next time
    except FileNotFoundError:
        return 0
    return total
