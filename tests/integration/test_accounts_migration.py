"""Migration 0007 on a database that already has users: each user's token keeps working
(now with an expiry) and users.token_hash no longer authenticates anyone; a repeated
user name is made unique, since names now sign in."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from privline.adapters.db import make_engine, migrate
from privline.adapters.db.engine import _MIGRATIONS, SqlUnitOfWork
from privline.services import users
from privline.services.errors import Unauthenticated
from privline.services.ports import UnitOfWork
from tests.conftest import ADMIN
from tests.support.postgres import ThrowawayPostgres

TOKEN = "pl_an-old-token-made-before-accounts"


@pytest.fixture(params=["sqlite", "postgres"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if request.param == "sqlite":
        return make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    pg: ThrowawayPostgres = request.getfixturevalue("postgres")
    return make_engine(pg.create_database(f"old_{uuid.uuid4().hex[:12]}"))


def test_old_tokens_move_to_api_tokens_and_keep_working(fresh: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with fresh.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0008")  # the revision before 0007
    made = datetime(2026, 1, 5, tzinfo=UTC).replace(tzinfo=None)
    with fresh.begin() as conn:
        for name, token in (("sam", TOKEN), ("sam", "pl_another"), ("ivy", "pl_third")):
            conn.execute(text("INSERT INTO users (name, role, token_hash, created_at) "
                              "VALUES (:n, 'staff', :h, :at)"),
                         {"n": name, "h": hashlib.sha256(token.encode()).hexdigest(),
                          "at": made})
    with fresh.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0007")
    with fresh.connect() as conn:
        old = conn.execute(text("SELECT token_hash FROM users WHERE id = 1")).scalar_one()
    assert old != hashlib.sha256(TOKEN.encode()).hexdigest()
    migrate(fresh)  # 0009 then drops the column, with api_tokens pointing at each user

    def uow() -> UnitOfWork:
        return SqlUnitOfWork(fresh)

    now = datetime.now(UTC)
    actor = users.authenticate(uow, TOKEN, now=now)
    assert (actor.name, actor.user_id) == ("sam", 1)
    with pytest.raises(Unauthenticated):  # 90 days from the upgrade, then gone
        users.authenticate(uow, TOKEN, now=now + timedelta(days=91))
    assert [v.user.name for v in users.list_users(uow, ADMIN)] == ["sam", "sam-2", "ivy"]
    with fresh.connect() as conn:
        assert "token_hash" not in {c["name"] for c in inspect(conn).get_columns("users")}
    fresh.dispose()


def test_0009_drops_users_token_hash_keeping_users_and_what_points_at_them(
        fresh: Engine) -> None:
    """On SQLite the users table is rebuilt: every user, id and foreign key survives,
    both ways, and the foreign keys are still enforced afterwards."""
    migrate(fresh)

    def uow() -> UnitOfWork:
        return SqlUnitOfWork(fresh)

    now = datetime.now(UTC)
    made = users.add_user(uow, ADMIN, name="sam", role="staff", now=now)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    for target in ("0007", "head"):
        with fresh.begin() as conn:
            config.attributes["connection"] = conn
            (command.downgrade if target == "0007" else command.upgrade)(config, target)
        with fresh.connect() as conn:
            columns = {c["name"]: c for c in inspect(conn).get_columns("users")}
        assert ("token_hash" in columns) == (target == "0007")
        if target == "0007":
            assert columns["token_hash"]["nullable"] is False
        assert users.authenticate(uow, str(made.token), now=now).user_id == made.user.id
    with pytest.raises(IntegrityError), fresh.begin() as conn:
        conn.execute(text("INSERT INTO api_tokens (user_id, token_hash, created_at, "
                          "expires_at) VALUES (999, 'x', :at, :at)"),
                     {"at": now.replace(tzinfo=None)})
    fresh.dispose()
