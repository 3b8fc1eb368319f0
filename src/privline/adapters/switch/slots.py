"""Decision slots: at most N call set-ups decided at once across Kamailio's workers.

Kamailio runs its routing in several worker processes. A call decision holds its worker
while it waits on the database; when more INVITEs arrive than the decisions can keep up
with, every worker ends up waiting, nothing answers the INVITEs queued behind them, the
phones retransmit, and goodput collapses. With a slot per decision and fewer slots than
workers, the workers left over answer the excess at once with 503 and Retry-After, and
keep serving in-dialog requests (ACK, BYE), so the switch completes calls at its capacity
however much is offered.

A slot is an exclusive, non-blocking ``flock`` on one of N files. The kernel releases it
when its holder closes the file or dies, so a crashed worker can never leak a slot, and
taking or returning one costs a few system calls.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class DecisionSlots:
    def __init__(self, folder: Path, count: int) -> None:
        if count < 1:
            raise ValueError("at least one decision slot is needed")
        folder.mkdir(parents=True, exist_ok=True)
        self._paths = [folder / f"decision-slot-{i}" for i in range(count)]
        self._fds: list[int] | None = None  # opened lazily, in the worker that uses them

    def _open(self) -> list[int]:
        if self._fds is None:
            self._fds = [os.open(p, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                         for p in self._paths]
        return self._fds

    @contextmanager
    def take(self) -> Iterator[bool]:
        """Yield True holding a free slot (returned on exit), or False when all are
        taken: the caller should refuse the call set-up at once."""
        held = None
        for fd in self._open():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            held = fd
            break
        try:
            yield held is not None
        finally:
            if held is not None:
                fcntl.flock(held, fcntl.LOCK_UN)

    def close(self) -> None:
        for fd in self._fds or ():
            os.close(fd)
        self._fds = None
