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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

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


class Entry(NamedTuple):
    file: str
    end: int  # the file's offset just past this event's line
    event: Mapping[str, Any]


class JournalReader:
    """Reads what is new in every journal file since the last :meth:`done`. With
    ``persist`` off the offsets live in memory only (the announcer's fast tail, which
    must not wait for the records' database writes).

    The agent reads the journal many times a second under load, so a read costs as few
    system calls as it can: one directory listing, then one ``pread`` per file on a
    descriptor kept open (a file with nothing new answers with no bytes), no stat, no
    open and close per read."""

    def __init__(self, folder: Path, *, persist: bool = True) -> None:
        self.folder = folder
        self._saved = _OffsetsFile(folder / OFFSETS) if persist else None
        self.offsets: dict[str, int] = _load(folder / OFFSETS)
        self._fds: dict[str, int] = {}

    def pending(self, limit_bytes: int = 1 << 20) -> list[Entry]:
        """New complete lines of every file, oldest event first (a call's events can
        be in several workers' files). A line still being written waits."""
        with os.scandir(self.folder) as found:
            names = sorted(e.name for e in found if e.name.endswith(".jsonl"))
        for gone in self._fds.keys() - set(names):  # pruned by the other reader
            os.close(self._fds.pop(gone))
        entries: list[Entry] = []
        for name in names:
            start = self.offsets.get(name, 0)
            chunk = self._read(name, start, limit_bytes)
            pos = start
            for raw in chunk.splitlines(keepends=True):
                if not raw.endswith(b"\n"):
                    break
                pos += len(raw)
                try:
                    event = json.loads(raw)
                except ValueError:
                    event = {"kind": "unreadable", "call_id": "", "at": ""}
                entries.append(Entry(name, pos, event))
        entries.sort(key=lambda e: str(e.event.get("at", "")))
        return entries

    def _read(self, name: str, start: int, limit_bytes: int) -> bytes:
        fd = self._fds.get(name)
        try:
            if fd is None:
                fd = self._fds[name] = os.open(self.folder / name, os.O_RDONLY | os.O_CLOEXEC)
            return os.pread(fd, limit_bytes, start)
        except FileNotFoundError:
            return b""  # pruned by the other reader since the listing

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
        if self._saved is not None:
            self._saved.write(self.offsets)

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        if self._saved is not None:
            self._saved.close()


def _load(path: Path) -> dict[str, int]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in raw.items()}


class _OffsetsFile:
    """The intake's offsets, rewritten in place on one descriptor after every batch.

    Written as a new file renamed over the old one, each save allocated an inode (and
    freed one): ext4's search for a free inode among the recently deleted ones showed
    in the agent's profile under load. One ``pwrite`` of the whole JSON, padded with
    spaces to the old length so no old byte is left after it, keeps the file valid JSON
    at every moment; a shorter text is then cut to its length. A process killed at any
    point leaves the old offsets or the new ones. Like the journal itself, nothing here
    is synced to disk (docs/switch.md): an unreadable file after a machine crash reads
    as "no offsets", and the intake re-applies the journal, which changes nothing twice.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._length = 0

    def write(self, offsets: Mapping[str, int]) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._length = os.fstat(self._fd).st_size
        text = json.dumps(offsets, sort_keys=True).encode()
        os.pwrite(self._fd, text.ljust(self._length), 0)
        if len(text) < self._length:
            os.ftruncate(self._fd, len(text))
        self._length = len(text)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
