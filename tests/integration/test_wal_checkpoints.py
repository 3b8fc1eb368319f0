"""Who checkpoints SQLite's WAL (adapters/db/engine.py, WalCheckpoints): units of work
after their commit, once they gave back the writer turn, except the switch routing's
call decisions; SQLite's own checkpoint inside a commit only past a backstop."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from privline.adapters.db import make_engine
from privline.adapters.db.engine import (
    WAL_BACKSTOP_PAGES,
    SqlUnitOfWork,
    WalCheckpoints,
    writer_turn,
)
from privline.bootstrap import bootstrap
from privline.settings import Settings
from tests.integration.test_writer_turn import turn_is_free

ROW = b"x" * 3000  # about one page each


@pytest.fixture
def db(tmp_path: Path, sqlite_template: Path) -> Path:
    path = tmp_path / "privline.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with SqlUnitOfWork(engine) as work:
        work._conn.exec_driver_sql("CREATE TABLE filler (data BLOB)")
        work.commit()
    engine.dispose()
    with closing(sqlite3.connect(path)) as conn:  # an empty WAL: everything in the file
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    return path


def write_pages(engine: Engine, pages: int, per_commit: int = 1,
                wal: WalCheckpoints | None = None) -> None:
    for _ in range(pages // per_commit):
        with SqlUnitOfWork(engine, turn=writer_turn(engine), wal_checkpoints=wal) as work:
            for _ in range(per_commit):
                work._conn.exec_driver_sql("INSERT INTO filler VALUES (?)", (ROW,))
            work.commit()


def test_decisions_leave_the_checkpoint_to_the_agent_who_runs_it_after_its_turn(
        db: Path) -> None:
    engine = make_engine(f"sqlite:///{db}", pre_ping=False)
    try:
        size = db.stat().st_size
        write_pages(engine, 2000)  # the routing: no WalCheckpoints
        assert db.stat().st_size == size  # 2000 pages written, none copied yet

        turn = writer_turn(engine)
        assert turn is not None
        seen: list[bool] = []

        class Agent(WalCheckpoints):
            def run_if_due(self, dbapi_conn: Any) -> bool:
                seen.append(turn_is_free(turn))  # type: ignore[arg-type]
                return super().run_if_due(dbapi_conn)

        write_pages(engine, 1, wal=Agent())
        assert seen == [True]  # the copy runs with the turn given back
        assert db.stat().st_size > size + 2000 * len(ROW)
    finally:
        engine.dispose()


def test_checkpoints_run_at_most_once_per_interval() -> None:
    wal = WalCheckpoints(every=3600)
    with closing(sqlite3.connect(":memory:")) as conn:
        assert wal.run_if_due(conn) is True
        assert wal.run_if_due(conn) is False


def test_past_the_backstop_sqlite_checkpoints_inside_a_commit_after_all(db: Path) -> None:
    """With no agent running, the WAL still stops growing."""
    engine = make_engine(f"sqlite:///{db}", pre_ping=False)
    try:
        size = db.stat().st_size
        write_pages(engine, WAL_BACKSTOP_PAGES // 2, per_commit=50)
        assert db.stat().st_size == size
        write_pages(engine, WAL_BACKSTOP_PAGES // 2 + 100, per_commit=50)
        assert db.stat().st_size > size + WAL_BACKSTOP_PAGES * len(ROW)
    finally:
        engine.dispose()


@pytest.mark.parametrize(("call_path", "checkpoints", "runs"), [
    (False, None, True),   # the API, the CLI, the voice menu
    (True, None, False),   # the switch's routing (kamailio_app)
    (True, True, True),    # the call agent (switch_agent)
])
def test_the_composition_root_gives_each_process_its_checkpoints(
        tmp_path: Path, call_path: bool, checkpoints: bool | None, runs: bool) -> None:
    settings = Settings.from_env({"PRIVLINE_HOME": str(tmp_path / "home")})
    bootstrap(settings, create=True).engine.dispose()  # type: ignore[union-attr]
    runtime = bootstrap(settings, call_path=call_path, checkpoints=checkpoints)
    assert runtime.engine is not None
    try:
        with runtime.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == \
                WAL_BACKSTOP_PAGES
        work = runtime.uow()
        assert isinstance(work, SqlUnitOfWork)
        assert (work._wal_checkpoints is not None) is runs
    finally:
        runtime.engine.dispose()
