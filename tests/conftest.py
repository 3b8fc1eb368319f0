"""Shared fixtures: clean environment, both databases, and the personas tests speak through.

Service tests take the ``uow`` fixture, which runs each test on SQLite and on a real
PostgreSQL started for the session (a throwaway cluster on 127.0.0.1).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text

from privline.adapters.db import make_engine, migrate
from privline.adapters.db.engine import SqlUnitOfWork
from privline.adapters.db.tables import metadata
from privline.adapters.pin_key import PinKeyring
from privline.domain.access import Role
from privline.domain.model import Actor, Facility
from privline.domain.rates import FacilityKind
from privline.services import facilities, registry
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from tests.support.postgres import ThrowawayPostgres

# Property tests draw the same examples on every run: a suite that passes must pass again
# (a new counterexample is found by raising max_examples on purpose, not by chance in CI).
hypothesis_settings.register_profile("privline", derandomize=True, database=None)
hypothesis_settings.load_profile("privline")

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # in the past: entries made at NOW are in force

# Personas.
ADMIN = Actor("alice-admin", Role.ADMIN)
STAFF = Actor("sam-staff", Role.STAFF)
INVESTIGATOR = Actor("ivan-investigator", Role.INVESTIGATOR)
AUDITOR = Actor("audrey-auditor", Role.AUDITOR)
ATTORNEY_NUMBER = "+14155550142"  # Ada Counsel, a verified attorney
FAMILY_NUMBER = "+12125550100"  # Rosa's sister: an ordinary number
ROSA = "R1001"  # a resident of the prison, PIN 2468, $20.00 on her account
ROSA_PIN = "2468"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("PRIVLINE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PRIVLINE_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[ThrowawayPostgres]:
    pg = ThrowawayPostgres().start()
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def pg_engine(postgres: ThrowawayPostgres) -> Iterator[Engine]:
    engine = make_engine(postgres.create_database("privline_test"))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "privline.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


def _truncate(engine: Engine) -> None:
    # DELETE (dependents first) and restarting the sequences, not TRUNCATE: on tables
    # this small it is ~6x quicker (TRUNCATE makes new files for every table), and
    # hundreds of PostgreSQL tests begin here.
    with engine.begin() as conn:
        sequences = conn.execute(text("SELECT sequencename FROM pg_sequences "
                                      "WHERE schemaname = current_schema()")).scalars()
        deletes = [f"DELETE FROM {t.name}"  # noqa: S608 - the declared tables' names
                   for t in reversed(metadata.sorted_tables)]
        restarts = [f"ALTER SEQUENCE {name} RESTART" for name in sequences]
        conn.execute(text("; ".join(deletes + restarts)))
        # As the migration leaves it: the audit chain's head at the genesis hash.
        conn.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"),
                     {"h": "0" * 64})


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        target = tmp_path / "home" / "privline.db"
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copy(sqlite_template, target)
        target.chmod(0o600)  # as `privline init` leaves it: bootstrap refuses others' access
        return f"sqlite:///{target}"
    engine: Engine = request.getfixturevalue("pg_engine")
    _truncate(engine)
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def engine(db_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    if db_url.startswith("postgresql"):
        yield request.getfixturevalue("pg_engine")
        return
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def pin_keys() -> PinKeyring:
    """The PIN key the ``uow`` fixture's services hash and check PINs with."""
    return PinKeyring.generate()


@pytest.fixture
def uow(engine: Engine, pin_keys: PinKeyring) -> UnitOfWorkFactory:
    def factory() -> UnitOfWork:
        return SqlUnitOfWork(engine, pins=pin_keys)

    return factory


@dataclass(frozen=True)
class World:
    """A prison with Rosa on its roll and Ada's verified attorney number."""

    facility: Facility
    attorney_entry_id: int


PRISON = Facility("state-prison", "State Prison", FacilityKind.PRISON, 1500,
                  phones=("127.0.0.1/32",))


@pytest.fixture
def world(uow: UnitOfWorkFactory) -> World:
    facilities.add_facility(uow, ADMIN, PRISON, now=NOW)
    facilities.add_resident(uow, STAFF, facility_id=PRISON.id, resident_id=ROSA, pin=ROSA_PIN,
                            opening_balance_cents=2000, now=NOW)
    entry = registry.add_entry(uow, STAFF, number=ATTORNEY_NUMBER, kind="attorney",
                               holder="Ada Counsel", credential="CA-123456", verified=True,
                               now=NOW)
    return World(PRISON, entry.id)


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reads the groups off the items
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`--dist loadgroup`, what scripts/test.sh runs), the tests of
    the real SIP stack run in two groups, each in one worker, in order: those on the
    session's switch (``stack``), and the voice menu's, which bring up their own switch
    per module. The other tests run beside them, so the call path is always tested with
    the other core busy."""
    e2e = Path(__file__).parent / "e2e"
    for item in items:
        if e2e in item.path.parents:  # every test there, marked or not, is of the stack
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("e2e"):
            group = "e2e-menu" if item.path.name == "test_voice_menu.py" else "e2e"
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Under ``--dist loadgroup`` each xdist worker tags a grouped test's id with its group
    (``...::test@e2e``), and that tag is all the scheduler groups by: if this pytest and
    pytest-xdist disagree on where a test's id lives, nothing is grouped and the e2e
    tests run on every worker at once. Stop rather than run the suite that way."""
    if node.config.getvalue("dist") != "loadgroup":
        return
    ungrouped = [i for i in ids if i.startswith("tests/e2e/") and "@" not in i]
    if ungrouped:
        pytest.exit(f"pytest-xdist's --dist loadgroup does not group with this pytest "
                    f"(e.g. {ungrouped[0]}); install the versions pyproject.toml names",
                    returncode=4)
