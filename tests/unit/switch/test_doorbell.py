"""The journal's doorbell: a worker's append wakes the agent; the agent's own offsets
file does not."""

from __future__ import annotations

import asyncio
import os
import struct
from pathlib import Path

from privline.adapters.switch.doorbell import (
    IN_MODIFY,
    IN_Q_OVERFLOW,
    Doorbell,
    names_written,
    wait,
)
from privline.adapters.switch.journal import JournalWriter


def test_event_names_and_overflow_are_read_from_the_kernels_buffer() -> None:
    def event(name: bytes, mask: int = IN_MODIFY) -> bytes:
        padded = name + b"\0" * (16 - len(name))
        return struct.pack("iIII", 1, mask, 0, len(padded)) + padded

    names, overflow = names_written(event(b"12-34.jsonl") + event(b"offsets.json"))
    assert names == {"12-34.jsonl", "offsets.json"} and not overflow
    assert names_written(event(b"", IN_Q_OVERFLOW))[1]


def test_a_journal_write_rings_and_the_offsets_file_does_not(tmp_path: Path) -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        bell = Doorbell(tmp_path)
        assert bell.open(asyncio.get_running_loop())
        waiter = bell.waiter()
        first = await wait(waiter, 1.0)  # set at creation: what came before is read
        (tmp_path / "offsets.json.tmp").write_text("{}")
        os.replace(tmp_path / "offsets.json.tmp", tmp_path / "offsets.json")
        quiet = await wait(waiter, 0.3)
        JournalWriter(tmp_path).write("bye", "call-1")
        rang = await wait(waiter, 10.0)
        bell.close(asyncio.get_running_loop())
        return first, quiet, rang

    first, quiet, rang = asyncio.run(scenario())
    assert first and not quiet and rang
