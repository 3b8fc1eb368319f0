"""The switch's call-event journal: the durable channel from the routing to the records.

Each Kamailio worker appends each event of a call (answered, bye, dialog ended, failed,
refused...) as one JSON line, with one ``write`` on an ``O_APPEND`` descriptor, to its
own file in ``switch/journal/``. The write reaches the kernel before the worker handles
its next message, so an event survives the death of any process (not of the machine:
there is no fsync per event; see docs/switch.md). The call agent reads every file from
the offset it last finished, applies the events, and only then moves the offset on:
at-least-once delivery, made exactly-once by the core's idempotent apply.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OFFSETS = "offsets.json"
# A worker starts a new file after this many events, so applied events do not stay on
# disk for the life of the worker (refusals carry residents and dialled numbers).
EVENTS_PER_FILE = 10_000


class JournalWriter:
    """One per Kamailio worker (the file is opened lazily in the worker that writes,
    after Kamailio's fork), named by pid and start time so a restarted switch never
    appends to an old worker's file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fd: int | None = None
        self._pid = 0
        self._written = 0

    def write(self, kind: str, call_id: str, **data: Any) -> bool:
        """Append one event; False (never an exception) when the disk refuses it."""
        line = json.dumps({"kind": kind, "call_id": call_id,
                           "at": datetime.now(UTC).isoformat(), **data},
                          default=str, separators=(",", ":")) + "\n"
        try:
            if self._fd is None or self._pid != os.getpid() or \
                    self._written >= EVENTS_PER_FILE:
                if self._fd is not None and self._pid == os.getpid():
                    os.close(self._fd)
                self._pid, self._written = os.getpid(), 0
                name = f"{self._pid}-{time.time_ns()}.jsonl"
                self._fd = os.open(self.folder / name,
                                   os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(self._fd, line.encode())
            self._written += 1
        except OSError:
            return False
        return True


def _size(entry: os.DirEntry[str]) -> int:
    try:
        return entry.stat().st_size
    except OSError:
        return 0  # deleted meanwhile (the other reader pruned it): nothing to read


@dataclass(frozen=True)
class Entry:
    file: str
    end: int  # the file's offset just past this event's line
    event: Mapping[str, Any]


class JournalReader:
    """Reads what is new in every journal file since the last :meth:`done`. With
    ``persist`` off the offsets live in memory only (the announcer's fast tail, which
    must not wait for the records' database writes)."""

    def __init__(self, folder: Path, *, persist: bool = True) -> None:
        self.folder = folder
        self.persist = persist
        self.offsets: dict[str, int] = self._load()

    def _load(self) -> dict[str, int]:
        try:
            raw = json.loads((self.folder / OFFSETS).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): int(v) for k, v in raw.items()}

    def pending(self, limit_bytes: int = 1 << 20) -> list[Entry]:
        """New complete lines of every file, oldest event first (a call's events can
        be in several workers' files). A line still being written waits."""
        entries: list[Entry] = []
        with os.scandir(self.folder) as found:
            # One stat per file and no open for a file with nothing new: the agent
            # polls every few tens of milliseconds, mostly finding nothing.
            fresh = sorted(Path(e.path) for e in found if e.name.endswith(".jsonl")
                           and _size(e) > self.offsets.get(e.name, 0))
        for path in fresh:
            start = self.offsets.get(path.name, 0)
            try:
                with path.open("rb") as f:
                    f.seek(start)
                    chunk = f.read(limit_bytes)
            except FileNotFoundError:
                continue  # pruned by the other reader since the scan
            pos = start
            for raw in chunk.splitlines(keepends=True):
                if not raw.endswith(b"\n"):
                    break
                pos += len(raw)
                try:
                    event = json.loads(raw)
                except ValueError:
                    event = {"kind": "unreadable", "call_id": "", "at": ""}
                entries.append(Entry(path.name, pos, event))
        entries.sort(key=lambda e: str(e.event.get("at", "")))
        return entries

    def done(self, entries: list[Entry]) -> None:
        """Move the offsets past ``entries`` (all applied and committed), atomically."""
        for entry in entries:
            self.offsets[entry.file] = max(self.offsets.get(entry.file, 0), entry.end)
        self._save()

    def prune(self) -> None:
        """Delete files read to their end that no writer appends to any more: their
        worker is gone, or it has moved on to a newer file."""
        newest: dict[str, str] = {}
        for path in self.folder.glob("*.jsonl"):
            pid, _, stamp = path.stem.partition("-")
            if stamp.isdigit() and int(stamp) > int(newest.get(pid, "0") or 0):
                newest[pid] = stamp
        for name, offset in list(self.offsets.items()):
            path = self.folder / name
            pid, _, stamp = path.stem.partition("-")
            retired = newest.get(pid) != stamp or not Path(f"/proc/{pid}").exists()
            with contextlib.suppress(OSError):
                if retired and path.stat().st_size == offset:
                    path.unlink()
                    del self.offsets[name]
        self._save()

    def _save(self) -> None:
        if not self.persist:
            return
        tmp = self.folder / (OFFSETS + ".tmp")
        tmp.write_text(json.dumps(self.offsets, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.folder / OFFSETS)
