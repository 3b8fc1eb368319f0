"""Decision slots bound the call set-ups decided at once, across processes, and a process
that dies holding one gives it back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from privline.adapters.switch.slots import DecisionSlots


def test_no_more_than_the_slots_are_taken_at_once_and_a_returned_slot_is_free(
        tmp_path: Path) -> None:
    # Separate instances stand for separate Kamailio workers (separate open files).
    workers = [DecisionSlots(tmp_path, 2) for _ in range(3)]
    with workers[0].take() as first, workers[1].take() as second:
        assert (first, second) == (True, True)
        with workers[2].take() as third:
            assert third is False
    with workers[2].take() as again:
        assert again is True


def test_a_worker_killed_holding_a_slot_does_not_leak_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path;"
         "from privline.adapters.switch.slots import DecisionSlots;"
         f"s = DecisionSlots(Path({str(tmp_path)!r}), 1); c = s.take(); c.__enter__();"
         "print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with DecisionSlots(tmp_path, 1).take() as taken:
            assert taken is False
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        with DecisionSlots(tmp_path, 1).take() as taken:
            assert taken is True
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def _taken(path: Path) -> bool:
    """Whether some process holds a lock on ``path``, read from /proc/locks: probing by
    taking the lock would itself take the place a waiter is about to take."""
    try:
        inode = path.stat().st_ino
    except FileNotFoundError:
        return False
    with open("/proc/locks", encoding="ascii") as locks:
        return any(line.split()[5].endswith(f":{inode}") for line in locks
                   if len(line.split()) > 5)


def test_a_burst_waits_in_the_waiting_room_and_gets_the_slot_freed_meanwhile(
        tmp_path: Path) -> None:
    """A burst beyond the slots is not an overload: the INVITE waits for a slot (long
    enough here never to run out) and is decided when one comes free."""
    holder, waiter = DecisionSlots(tmp_path, 1, 1), DecisionSlots(tmp_path, 1, 1, 60.0)
    got: list[bool] = []
    taking = waiter.take()  # kept referenced: the slot is held until it exits
    with holder.take() as held:
        assert held
        thread = threading.Thread(target=lambda: got.append(taking.__enter__()))
        thread.start()
        wait_for(lambda: _taken(tmp_path / "waiting-0"))  # the waiter is in the room
        assert got == []
    thread.join(timeout=30)
    assert got == [True]
    assert not _taken(tmp_path / "waiting-0")  # it left the room holding the slot
    assert _taken(tmp_path / "decision-slot-0")
    taking.__exit__(None, None, None)
    assert not _taken(tmp_path / "decision-slot-0")


def test_with_the_waiting_room_full_an_invite_is_refused_at_once(tmp_path: Path) -> None:
    holder, queued = DecisionSlots(tmp_path, 1, 1), DecisionSlots(tmp_path, 1, 1, 60.0)
    taking = queued.take()
    with holder.take() as held:
        assert held
        thread = threading.Thread(target=lambda: taking.__enter__())
        thread.start()
        wait_for(lambda: _taken(tmp_path / "waiting-0"))
        # 60 s is the waiter's patience: returning at all proves the refusal is at once
        with DecisionSlots(tmp_path, 1, 1, 60.0).take() as third:
            assert third is False
    thread.join(timeout=30)
    taking.__exit__(None, None, None)


def test_a_wait_that_runs_out_is_a_refusal(tmp_path: Path) -> None:
    with DecisionSlots(tmp_path, 1, 1).take() as held:
        assert held
        with DecisionSlots(tmp_path, 1, 1, max_wait=0.01).take() as waited:
            assert waited is False
    assert not _taken(tmp_path / "waiting-0")  # the room is left, slot or not


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)
