"""The database adapter never lets its driver's errors out: services and entrypoints see
``Unavailable``, which says whether a retry can help."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from privline.adapters.db.engine import SqlUnitOfWork, unavailable
from privline.services.errors import Unavailable
from privline.services.ports import UnitOfWorkFactory


def test_a_failed_statement_leaves_the_unit_of_work_as_unavailable_not_retryable(
        uow: UnitOfWorkFactory) -> None:
    with pytest.raises(Unavailable) as caught:
        with uow() as work:
            assert isinstance(work, SqlUnitOfWork)
            work._conn.exec_driver_sql("SELECT * FROM no_such_table")
    assert caught.value.code == "db_unavailable"
    assert caught.value.retryable is False
    assert "no_such_table" in caught.value.message


def test_a_locked_database_is_retryable_and_a_wrong_statement_is_not() -> None:
    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    wrong = OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    programming = ProgrammingError("SELECT", {}, Exception("syntax error"))
    assert unavailable(locked).retryable is True
    assert unavailable(wrong).retryable is False
    assert unavailable(programming).retryable is False
