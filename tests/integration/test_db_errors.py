"""The database adapter never lets its driver's errors out: services and entrypoints see
``Unavailable``, which says whether a retry can help."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from privline.adapters.db.engine import SqlUnitOfWork, make_engine, migrate, unavailable
from privline.services.errors import Unavailable
from privline.services.ports import UnitOfWorkFactory
from tests.support.postgres import ThrowawayPostgres


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


@pytest.mark.parametrize("pre_ping", [True, False])
def test_the_call_paths_engine_pays_a_dropped_connection_with_one_retryable_failure(
        postgres: ThrowawayPostgres, pre_ping: bool) -> None:
    """Without the pool's pre-ping (the switch's call path: one round trip less per
    decision) a connection the server dropped fails one unit of work, as retryable
    ``Unavailable``; the next one works. With it, nobody sees the drop."""
    url = postgres.create_database(f"privline_ping_{pre_ping}".lower())
    engine, admin = make_engine(url, pre_ping=pre_ping), make_engine(url)
    try:
        with SqlUnitOfWork(engine) as work:
            work._conn.exec_driver_sql("SELECT 1")  # a pooled connection now exists
        with admin.connect() as conn:
            dropped = conn.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()").scalar_one()
        assert dropped == 1
        if not pre_ping:
            with pytest.raises(Unavailable) as caught:
                with SqlUnitOfWork(engine) as work:
                    work._conn.exec_driver_sql("SELECT 1")
            assert caught.value.retryable is True
        with SqlUnitOfWork(engine) as work:
            assert work._conn.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        engine.dispose()
        admin.dispose()


def test_a_connection_dropped_under_a_decisions_statements_is_not_pooled_again(
        postgres: ThrowawayPostgres) -> None:
    """A call decision's statements run on the driver, with no SQLAlchemy Connection
    (engine.py): a dropped connection found there fails that unit of work as retryable,
    and neither it nor any other connection pooled before it is used again."""
    url = postgres.create_database("privline_dropped_driver")
    engine, admin = make_engine(url, pre_ping=False), make_engine(url)
    try:
        migrate(admin)
        with SqlUnitOfWork(engine) as one, SqlUnitOfWork(engine) as two:  # two pooled
            for work in (one, two):
                assert work.residents.caller("nobody") is None
                assert work._driver.made_conn is None  # the decision's path
        with admin.connect() as conn:
            dropped = conn.exec_driver_sql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()").scalar_one()
        assert dropped == 2
        with pytest.raises(Unavailable) as caught:
            with SqlUnitOfWork(engine) as work:
                work.residents.caller("nobody")
        assert caught.value.retryable is True
        with SqlUnitOfWork(engine) as work:  # the other dropped one is not handed out
            assert work.residents.caller("nobody") is None
    finally:
        engine.dispose()
        admin.dispose()
