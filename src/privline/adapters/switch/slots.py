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
POLL_S = 0.002  # the first looks for a freed slot: 1 ms, then 2 ...
MAX_POLL_S = 0.008  # ... doubling up to this


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

    def enter(self) -> Ticket | None:
        """A slot, or else a place in the waiting room, taken at once; None when both
        are full: an overload, to be refused before anything else is done for it (no
        transaction, no wait). A ticket is returned by leaving its ``with`` block."""
        held = self._slots.try_take()
        if held is not None:
            return Ticket(self, slot=held)
        place = self._room.try_take()
        return None if place is None else Ticket(self, place=place)

    @contextmanager
    def take(self) -> Iterator[bool]:
        """Yield True holding a slot (returned on exit), or False when none came free in
        time: the caller should refuse the call set-up at once."""
        ticket = self.enter()
        if ticket is None:
            yield False
            return
        with ticket:
            yield ticket.wait()

    def wait_for_slot(self) -> int | None:
        """Poll for a slot until the wait runs out: a little longer between looks the
        longer it waits (1, 2, 4, 8 ms), so waiters do not spin while the switch is
        overloaded, yet a burst's slot is seen freed within milliseconds."""
        deadline = time.monotonic() + self._max_wait
        pause = POLL_S / 2
        while time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(pause * 2, MAX_POLL_S)
            held = self._slots.try_take()
            if held is not None:
                return held
        return None

    def close(self) -> None:
        self._slots.close()
        self._room.close()


class Ticket:
    """A slot held, or a place in the waiting room from which :meth:`wait` takes one."""

    def __init__(self, slots: DecisionSlots, *, slot: int | None = None,
                 place: int | None = None) -> None:
        self._slots, self._slot, self._place = slots, slot, place

    def wait(self) -> bool:
        """Whether a slot is held: at once, or after waiting for one (the place in the
        room is left either way)."""
        if self._slot is None and self._place is not None:
            try:
                self._slot = self._slots.wait_for_slot()
            finally:
                fcntl.flock(self._place, fcntl.LOCK_UN)
                self._place = None
        return self._slot is not None

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in (self._slot, self._place):
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
        self._slot = self._place = None


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
