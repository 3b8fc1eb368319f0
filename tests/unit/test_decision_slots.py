"""Decision slots bound the call set-ups decided at once, across processes, and a process
that dies holding one gives it back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
