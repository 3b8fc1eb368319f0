"""Who checkpoints SQLite's WAL (adapters/db/engine.py, make_engine): every engine's
commits do, except the switch routing's (``checkpoints=False``), whose call decisions
leave it to the call agent's commits, up to a backstop."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import Engine

from privline.adapters.db import make_engine
from privline.adapters.db.engine import (
    WAL_BACKSTOP_PAGES,
    WAL_CHECKPOINT_PAGES,
    SqlUnitOfWork,
)
from privline.bootstrap import bootstrap
from privline.settings import Settings

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


def write_pages(engine: Engine, pages: int, per_commit: int = 1) -> None:
    for _ in range(pages // per_commit):
        with SqlUnitOfWork(engine) as work:
            for _ in range(per_commit):
                work._conn.exec_driver_sql("INSERT INTO filler VALUES (?)", (ROW,))
            work.commit()


def test_a_routing_commit_leaves_the_checkpoint_to_the_agent(db: Path) -> None:
    routing = make_engine(f"sqlite:///{db}", pre_ping=False, checkpoints=False)
    agent = make_engine(f"sqlite:///{db}", pre_ping=False, checkpoints=True)
    try:
        size = db.stat().st_size
        write_pages(routing, 2 * WAL_CHECKPOINT_PAGES)
        # Past the usual threshold, yet no decision copied a page into the database.
        assert db.stat().st_size == size
        write_pages(agent, 1)  # the agent's next commit checkpoints
        assert db.stat().st_size > size + WAL_CHECKPOINT_PAGES * len(ROW)
    finally:
        routing.dispose()
        agent.dispose()


def test_every_other_engine_checkpoints_on_its_own_commits(db: Path) -> None:
    engine = make_engine(f"sqlite:///{db}")
    try:
        size = db.stat().st_size
        write_pages(engine, 2 * WAL_CHECKPOINT_PAGES)
        assert db.stat().st_size > size + WAL_CHECKPOINT_PAGES * len(ROW)
    finally:
        engine.dispose()


def test_past_the_backstop_a_routing_commit_checkpoints_after_all(db: Path) -> None:
    """With no agent running, the WAL still stops growing."""
    routing = make_engine(f"sqlite:///{db}", pre_ping=False, checkpoints=False)
    try:
        size = db.stat().st_size
        write_pages(routing, WAL_BACKSTOP_PAGES // 2, per_commit=50)
        assert db.stat().st_size == size
        write_pages(routing, WAL_BACKSTOP_PAGES // 2 + 100, per_commit=50)
        assert db.stat().st_size > size + WAL_BACKSTOP_PAGES * len(ROW)
    finally:
        routing.dispose()


@pytest.mark.parametrize(("call_path", "checkpoints", "pages"), [
    (False, None, WAL_CHECKPOINT_PAGES),   # the API, the CLI, the voice menu
    (True, None, WAL_BACKSTOP_PAGES),      # the switch's routing (kamailio_app)
    (True, True, WAL_CHECKPOINT_PAGES),    # the call agent (switch_agent)
])
def test_the_composition_root_gives_each_process_its_checkpoints(
        tmp_path: Path, call_path: bool, checkpoints: bool | None, pages: int) -> None:
    settings = Settings.from_env({"PRIVLINE_HOME": str(tmp_path / "home")})
    bootstrap(settings, create=True).engine.dispose()
    engine = bootstrap(settings, call_path=call_path, checkpoints=checkpoints).engine
    assert engine is not None
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one() == pages
    finally:
        engine.dispose()
