"""The tests' one app per process (tests/support/app.py) serves whichever runtime a test
hands it: the bearer check and the routes read the runtime the app holds now, and a new
runtime starts with fresh per-server state, as a new `privline serve` would."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from privline.adapters.db import make_engine
from privline.adapters.db.engine import SqlUnitOfWork
from privline.adapters.pin_key import PinKeyring
from privline.bootstrap import Runtime, utcnow
from privline.services import users
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.settings import Settings
from tests.conftest import ADMIN
from tests.support.app import app_for


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_token_is_checked_against_the_runtime_the_app_serves_now(
        db_url: str, uow: UnitOfWorkFactory, tmp_path: Path, sqlite_template: Path,
        pin_keys: PinKeyring) -> None:
    other_db = tmp_path / "other.db"
    shutil.copy(sqlite_template, other_db)
    other_engine = make_engine(f"sqlite:///{other_db}")

    def other_uow() -> UnitOfWork:
        return SqlUnitOfWork(other_engine, pins=pin_keys)

    here = Runtime(Settings(home=tmp_path / "home", database_url=db_url), uow)
    elsewhere = Runtime(Settings(home=tmp_path / "other", database_url=f"sqlite:///{other_db}"),
                        other_uow)
    token = users.add_user(uow, ADMIN, name="only-here", role="staff", now=utcnow()).token
    auth = {"Authorization": f"Bearer {token}"}
    try:
        assert TestClient(app_for(here)).get("/api/v1/registry", headers=auth).status_code == 200
        served = app_for(elsewhere)
        assert served.state.runtime is elsewhere
        assert TestClient(served).get("/api/v1/registry", headers=auth).status_code == 401
        assert TestClient(app_for(here)).get("/api/v1/registry", headers=auth).status_code == 200
    finally:
        other_engine.dispose()


def _no_database() -> UnitOfWork:
    raise AssertionError("no request is made")


def test_a_new_runtime_gets_fresh_server_state(tmp_path: Path) -> None:
    uow = _no_database
    first = app_for(Runtime(Settings(home=tmp_path / "a", database_url="sqlite://"), uow))
    first.state.registration_limits = "kept by this server"
    again = app_for(first.state.runtime)  # the same server: its state is kept
    assert again.state.registration_limits == "kept by this server"
    second = app_for(Runtime(Settings(home=tmp_path / "b", database_url="sqlite://"), uow))
    assert not hasattr(second.state, "registration_limits")
