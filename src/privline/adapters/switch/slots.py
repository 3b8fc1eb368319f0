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

A burst is not an overload. A phone (or sipp) starved of CPU for a moment sends the
INVITEs it owes at once; refusing every one beyond the slot count would shed calls at
any rate, however far below capacity. So an INVITE that finds every slot busy may wait
for one, briefly (``max_wait``, well under SIP's 500 ms retransmission timer, so the phone
never resends it meanwhile), in a waiting room of W places (W more lock files). Only
when the waiting room is full too, or the wait runs out (the queue is not draining: a
true overload), is the set-up refused. The waiting room is smaller than the workers left
over, so one worker always stays free for ACKs, BYEs and 503s.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MAX_WAIT_S = 0.25  # a queued INVITE's longest wait for a slot (SIP's T1 is 0.5 s)
POLL_S = 0.002


class DecisionSlots:
    def __init__(self, folder: Path, count: int, waiting: int = 0,
                 max_wait: float = MAX_WAIT_S) -> None:
        if count < 1:
            raise ValueError("at least one decision slot is needed")
        if waiting < 0:
            raise ValueError("the waiting room cannot have fewer than no places")
        folder.mkdir(parents=True, exist_ok=True)
        self._slots = _LockFiles([folder / f"decision-slot-{i}" for i in range(count)])
        self._room = _LockFiles([folder / f"waiting-{i}" for i in range(waiting)])
        self._max_wait = max_wait

    @contextmanager
    def take(self) -> Iterator[bool]:
        """Yield True holding a slot (returned on exit), or False when none came free in
        time: the caller should refuse the call set-up at once."""
        held = self._slots.try_take()
        if held is None:
            held = self._wait()
        try:
            yield held is not None
        finally:
            if held is not None:
                fcntl.flock(held, fcntl.LOCK_UN)

    def _wait(self) -> int | None:
        place = self._room.try_take()
        if place is None:
            return None  # the waiting room is full: overloaded
        try:
            deadline = time.monotonic() + self._max_wait
            while time.monotonic() < deadline:
                time.sleep(POLL_S)
                held = self._slots.try_take()
                if held is not None:
                    return held
            return None
        finally:
            fcntl.flock(place, fcntl.LOCK_UN)

    def close(self) -> None:
        self._slots.close()
        self._room.close()


class _LockFiles:
    """N lock files, opened lazily in the worker that uses them; take any free one."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths = paths
        self._fds: list[int] | None = None

    def try_take(self) -> int | None:
        if self._fds is None:
            self._fds = [os.open(p, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                         for p in self._paths]
        for fd in self._fds:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            return fd
        return None

    def close(self) -> None:
        for fd in self._fds or ():
            os.close(fd)
        self._fds = None
