"""SQLite's writers take turns through a flock beside the database (adapters/db/engine.py):
a unit of work holds the turn for its whole transaction and always gives it back."""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from privline.adapters.db import make_engine
from privline.adapters.db.engine import SqlUnitOfWork, WriterTurn, writer_turn


def turn_is_free(turn: WriterTurn) -> bool:
    """Whether another process (a descriptor of its own) could take the turn now."""
    fd = os.open(turn.path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing the descriptor also lets a taken lock go
    return True


def test_a_unit_of_work_holds_the_turn_for_its_transaction(tmp_path: Path,
                                                           sqlite_template: Path) -> None:
    db = tmp_path / "privline.db"
    shutil.copy(sqlite_template, db)
    engine = make_engine(f"sqlite:///{db}")
    try:
        turn = writer_turn(engine)
        assert turn is not None and turn.path == Path(f"{db}.writer-turn")
        with SqlUnitOfWork(engine, turn=turn) as uow:
            assert not turn_is_free(turn)
            uow.commit()
        assert turn_is_free(turn)
        with pytest.raises(RuntimeError), SqlUnitOfWork(engine, turn=turn):
            assert not turn_is_free(turn)
            raise RuntimeError("a failed transaction gives the turn back too")
        assert turn_is_free(turn)
    finally:
        engine.dispose()


def test_only_a_sqlite_file_has_a_turn(tmp_path: Path) -> None:
    memory = make_engine("sqlite://")
    assert writer_turn(memory) is None
    memory.dispose()


def test_a_writer_waiting_for_the_turn_is_seen(tmp_path: Path, sqlite_template: Path) -> None:
    """A waiting writer holds the second file shared while it waits; a batch sees it."""
    db = tmp_path / "privline.db"
    shutil.copy(sqlite_template, db)
    engine = make_engine(f"sqlite:///{db}")
    try:
        turn = writer_turn(engine)
        assert turn is not None
        with SqlUnitOfWork(engine, turn=turn) as uow:
            assert not uow.others_waiting()
            fd = os.open(turn.waiting_path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)  # as WriterTurn.take does while it waits
                assert uow.others_waiting()
            finally:
                os.close(fd)
            assert not uow.others_waiting()
    finally:
        engine.dispose()


def test_a_writer_blocked_on_the_turn_says_so_and_goes_in_after(
    tmp_path: Path, sqlite_template: Path,
) -> None:
    db = tmp_path / "privline.db"
    shutil.copy(sqlite_template, db)
    engine = make_engine(f"sqlite:///{db}")
    try:
        turn = writer_turn(engine)
        assert turn is not None
        went_in = threading.Event()

        def second_writer() -> None:
            with SqlUnitOfWork(engine, turn=turn):
                went_in.set()

        with SqlUnitOfWork(engine, turn=turn) as uow:
            other = threading.Thread(target=second_writer)
            other.start()
            deadline = time.monotonic() + 30
            while not uow.others_waiting():
                assert time.monotonic() < deadline, "the blocked writer never said so"
                time.sleep(0.01)
            assert not went_in.is_set()
        other.join(30)
        assert went_in.is_set()
    finally:
        engine.dispose()
