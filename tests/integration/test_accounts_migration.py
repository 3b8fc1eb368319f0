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
from sqlalchemy import Engine, text

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
    migrate(fresh)

    def uow() -> UnitOfWork:
        return SqlUnitOfWork(fresh)

    now = datetime.now(UTC)
    actor = users.authenticate(uow, TOKEN, now=now)
    assert (actor.name, actor.user_id) == ("sam", 1)
    with pytest.raises(Unauthenticated):  # 90 days from the upgrade, then gone
        users.authenticate(uow, TOKEN, now=now + timedelta(days=91))
    assert [v.user.name for v in users.list_users(uow, ADMIN)] == ["sam", "sam-2", "ivy"]
    with fresh.connect() as conn:
        old = conn.execute(text("SELECT token_hash FROM users WHERE id = 1")).scalar_one()
    assert old != hashlib.sha256(TOKEN.encode()).hexdigest()
    fresh.dispose()
