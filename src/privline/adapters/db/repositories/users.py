"""Operators' accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from privline.adapters.db import tables as t
from privline.adapters.db.repositories.base import SqlRepository
from privline.domain.access import Role
from privline.domain.model import User


class SqlUsers(SqlRepository):
    def add(self, name: str, role: Role, token_hash: str, at: datetime) -> User:
        user_id = self.conn.execute(insert(t.users).values(
            name=name, role=role.value, token_hash=token_hash, created_at=at)
            .returning(t.users.c.id)).scalar_one()
        return User(user_id, name, role, at)

    def by_token_hash(self, token_hash: str) -> User | None:
        c = t.users.c
        row = self.conn.execute(select(c.id, c.name, c.role, c.created_at)
                                .where(c.token_hash == token_hash)).first()
        return None if row is None else User(row[0], row[1], Role(row[2]), row[3])
