"""Wakes the call agent when a Kamailio worker appends to the journal, instead of polling.

Polling the journal folder every few tens of milliseconds cost the idle agent about a
tenth of a core (issue 11: a directory scan, a stat per file and two thread hand-offs per
poll, twice: the live tail and the intake). Linux's inotify tells the agent when a
journal file was written: the kernel does the watching, the workers do nothing more than
their ``write``, and an idle agent sleeps. Python has no inotify binding, so the three
calls go through ctypes to the C library.

Only ``*.jsonl`` files ring (the agent's own ``offsets.json`` is in the same folder and
is rewritten after every batch). Without inotify (another kernel, too many watches) the
bell never rings and the waiters fall back to their timeout: the old polling.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import struct
from pathlib import Path

log = logging.getLogger("privline.switch.doorbell")
# <sys/inotify.h>
IN_MODIFY, IN_MOVED_TO, IN_CREATE, IN_Q_OVERFLOW = 0x2, 0x80, 0x100, 0x4000
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name


def names_written(buffer: bytes) -> tuple[set[str], bool]:
    """The file names in a buffer of inotify events, and whether the kernel's queue
    overflowed (events were dropped: the reader must look at everything)."""
    names: set[str] = set()
    overflow = False
    pos = 0
    while pos + _HEADER.size <= len(buffer):
        _wd, mask, _cookie, length = _HEADER.unpack_from(buffer, pos)
        pos += _HEADER.size
        names.add(buffer[pos:pos + length].split(b"\0", 1)[0].decode(errors="replace"))
        pos += length
        overflow = overflow or bool(mask & IN_Q_OVERFLOW)
    return names, overflow


class Doorbell:
    """Rings every waiter when a journal file in ``folder`` is written to."""

    def __init__(self, folder: Path, suffix: str = ".jsonl") -> None:
        self.folder = folder
        self.suffix = suffix
        self._fd: int | None = None
        self._waiters: list[asyncio.Event] = []

    def open(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Start watching; False (and polling by timeout) when inotify is unavailable."""
        name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(name, use_errno=True)
            fd = int(libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
            if fd < 0:
                raise OSError(ctypes.get_errno(), "inotify_init1")
            wd = libc.inotify_add_watch(fd, os.fsencode(self.folder),
                                        IN_MODIFY | IN_CREATE | IN_MOVED_TO)
            if wd < 0:
                os.close(fd)
                raise OSError(ctypes.get_errno(), "inotify_add_watch")
        except (OSError, AttributeError) as exc:
            log.warning("no inotify on %s (%s): polling the journal", self.folder, exc)
            return False
        self._fd = fd
        loop.add_reader(fd, self._readable)
        return True

    def waiter(self) -> asyncio.Event:
        """An event of one's own: set by every ring, cleared by its owner."""
        event = asyncio.Event()
        event.set()  # whatever was written before the watch began is read first
        self._waiters.append(event)
        return event

    def _readable(self) -> None:
        assert self._fd is not None  # noqa: S101 - registered only once open
        try:
            buffer = os.read(self._fd, 64 * 1024)
        except BlockingIOError:
            return
        names, overflow = names_written(buffer)
        if overflow or any(n.endswith(self.suffix) for n in names):
            for event in self._waiters:
                event.set()

    def close(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._fd is not None:
            loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None


async def wait(event: asyncio.Event, timeout: float) -> bool:
    """Wait for a ring at most ``timeout`` seconds; clears it. True when it rang."""
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    event.clear()
    return True
