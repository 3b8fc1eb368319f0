"""SQLite's writers take turns through a flock beside the database (adapters/db/engine.py):
a unit of work holds the turn for its whole transaction and always gives it back."""

from __future__ import annotations

import fcntl
import os
import shutil
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
