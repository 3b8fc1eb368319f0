"""The call-event journal: whole lines only, every worker's file, offsets that move only
when told, and nothing lost or repeated across a reader's restart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from privline.adapters.switch import journal
from privline.adapters.switch.journal import JournalReader, JournalWriter


def test_reader_sees_whole_lines_of_every_file_oldest_first(tmp_path: Path) -> None:
    a, b = JournalWriter(tmp_path), JournalWriter(tmp_path)
    assert a.write("answered", "c1")
    assert b.write("bye", "c1")
    assert a.write("ended", "c1")
    # A line still being written (no newline yet) waits for its end.
    (tmp_path / "99-1.jsonl").write_bytes(b'{"kind":"bye","call_id":"c2"')
    reader = JournalReader(tmp_path)
    assert [e.event["kind"] for e in reader.pending()] == ["answered", "bye", "ended"]


def test_offsets_move_only_on_done_and_survive_a_new_reader(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path)
    writer.write("answered", "c1")
    first = JournalReader(tmp_path)
    entries = first.pending()
    assert len(entries) == 1
    # Killed before done(): a new reader sees the event again (at least once).
    assert len(JournalReader(tmp_path).pending()) == 1
    first.done(entries)
    writer.write("bye", "c1")
    again = JournalReader(tmp_path).pending()
    assert [e.event["kind"] for e in again] == ["bye"]


def test_a_new_process_writes_its_own_file(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path)
    writer.write("answered", "c1")
    pid = os.fork()
    if pid == 0:  # Kamailio forks its workers after mod_init built the writer
        writer.write("bye", "c1")
        os._exit(0)
    os.waitpid(pid, 0)
    files = sorted(p.name.partition("-")[0] for p in tmp_path.glob("*.jsonl"))
    assert sorted(files) == sorted([str(os.getpid()), str(pid)])


def test_prune_forgets_files_read_to_the_end_whose_writer_is_gone(tmp_path: Path) -> None:
    gone = tmp_path / "999999999-1.jsonl"
    gone.write_text('{"kind":"bye","call_id":"c1","at":"x"}\n')
    live = JournalWriter(tmp_path)
    live.write("bye", "c2")
    reader = JournalReader(tmp_path)
    reader.done(reader.pending())
    reader.prune()
    assert not gone.exists() and len(list(tmp_path.glob("*.jsonl"))) == 1


def test_a_full_disk_is_reported_not_raised(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "missing")
    assert writer.write("bye", "c1") is False


def test_a_worker_moves_to_a_new_file_and_the_old_one_goes_once_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(journal, "EVENTS_PER_FILE", 2)
    writer = JournalWriter(tmp_path)
    for n in range(3):
        writer.write("bye", f"c{n}")
    assert len(list(tmp_path.glob("*.jsonl"))) == 2
    reader = JournalReader(tmp_path)
    reader.prune()  # nothing applied yet: nothing goes
    assert len(list(tmp_path.glob("*.jsonl"))) == 2
    reader.done(reader.pending())
    reader.prune()
    (left,) = tmp_path.glob("*.jsonl")
    assert left.read_text().count("\n") == 1  # the current file stays


def test_offsets_are_rewritten_in_place_and_stay_readable_when_shorter(
    tmp_path: Path,
) -> None:
    # No new file (inode) per save: the agent saves after every batch under load.
    for n in range(4):  # files of workers that are gone
        (tmp_path / f"99999999{n}-1.jsonl").write_text('{"kind":"bye","call_id":"c"}\n')
    live = JournalWriter(tmp_path)
    live.write("bye", "c2")
    reader = JournalReader(tmp_path)
    reader.done(reader.pending())
    saved = tmp_path / journal.OFFSETS
    inode, length = saved.stat().st_ino, saved.stat().st_size
    reader.prune()  # four files forgotten: the offsets' text shrinks
    assert saved.stat().st_ino == inode and saved.stat().st_size < length
    (kept,) = tmp_path.glob("*.jsonl")
    assert JournalReader(tmp_path).offsets == {kept.name: kept.stat().st_size}
    reader.close()


def test_a_reader_goes_on_when_the_other_reader_prunes_a_file_it_had_open(
    tmp_path: Path,
) -> None:
    old = tmp_path / "999999999-1.jsonl"
    old.write_text('{"kind":"bye","call_id":"c1","at":"1"}\n')
    tail, intake = JournalReader(tmp_path, persist=False), JournalReader(tmp_path)
    tail.done(tail.pending())
    intake.done(intake.pending())
    intake.prune()
    assert not old.exists()
    writer = JournalWriter(tmp_path)
    writer.write("answered", "c2")
    assert [e.event["call_id"] for e in tail.pending()] == ["c2"]
