"""SQL for users, their API tokens, web sessions and failed sign-ins."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from privline.adapters.db import tables as t
from privline.adapters.db.repositories.base import SqlRepository
from privline.domain.access import Role
from privline.domain.model import User
from privline.domain.signin import ApiToken, WebSession

_U = t.users.c
_USER_COLUMNS = (_U.id, _U.name, _U.role, _U.created_at, _U.password_hash, _U.totp_secret,
                 _U.totp_last_step, _U.disabled_at)


def _user(row: Any) -> User:
    return User(row.id, row.name, Role(row.role), row.created_at, row.password_hash,
                row.totp_secret, row.totp_last_step, row.disabled_at)


class SqlUsers(SqlRepository):
    def add(self, name: str, role: Role, at: datetime, *, password_hash: str | None = None,
            totp_secret: str | None = None) -> User:
        user_id = self.conn.execute(insert(t.users).values(
            name=name, role=role.value, created_at=at,
            password_hash=password_hash, totp_secret=totp_secret, totp_last_step=0)
            .returning(_U.id)).scalar_one()
        return User(user_id, name, role, at, password_hash, totp_secret)

    def get(self, user_id: int) -> User | None:
        row = self.conn.execute(select(*_USER_COLUMNS).where(_U.id == user_id)).first()
        return None if row is None else _user(row)

    def by_name(self, name: str) -> User | None:
        row = self.conn.execute(select(*_USER_COLUMNS).where(_U.name == name)).first()
        return None if row is None else _user(row)

    def list(self) -> Sequence[User]:
        return [_user(r) for r in self.conn.execute(select(*_USER_COLUMNS).order_by(_U.id))]

    def _set(self, user_id: int, **values: Any) -> None:
        self.conn.execute(update(t.users).where(_U.id == user_id).values(**values))

    def set_password(self, user_id: int, password_hash: str) -> None:
        self._set(user_id, password_hash=password_hash)

    def set_totp(self, user_id: int, secret: str | None) -> None:
        self._set(user_id, totp_secret=secret, totp_last_step=0)

    def set_role(self, user_id: int, role: Role) -> None:
        self._set(user_id, role=role.value)

    def set_disabled(self, user_id: int, at: datetime | None) -> None:
        self._set(user_id, disabled_at=at)

    def use_totp_step(self, user_id: int, step: int) -> bool:
        # One conditional UPDATE: of two requests with the same code, one wins.
        result = self.conn.execute(update(t.users).where(
            _U.id == user_id, _U.totp_last_step < step).values(totp_last_step=step))
        return int(result.rowcount) == 1


_T = t.api_tokens.c


def _token(row: Any) -> ApiToken:
    return ApiToken(row.id, row.user_id, row.created_at, row.expires_at, row.revoked_at)


_TOKEN_COLUMNS = (_T.id, _T.user_id, _T.created_at, _T.expires_at, _T.revoked_at)


class SqlTokens(SqlRepository):
    def add(self, user_id: int, token_hash: str, at: datetime, expires_at: datetime
            ) -> ApiToken:
        token_id = self.conn.execute(insert(t.api_tokens).values(
            user_id=user_id, token_hash=token_hash, created_at=at, expires_at=expires_at)
            .returning(_T.id)).scalar_one()
        return ApiToken(token_id, user_id, at, expires_at)

    def by_hash(self, token_hash: str) -> ApiToken | None:
        row = self.conn.execute(select(*_TOKEN_COLUMNS).where(_T.token_hash == token_hash)
                                ).first()
        return None if row is None else _token(row)

    def of_user(self, user_id: int) -> Sequence[ApiToken]:
        return [_token(r) for r in self.conn.execute(
            select(*_TOKEN_COLUMNS).where(_T.user_id == user_id).order_by(_T.id))]

    def revoke(self, user_id: int, at: datetime, token_id: int | None = None) -> int:
        query = update(t.api_tokens).where(_T.user_id == user_id, _T.revoked_at.is_(None))
        if token_id is not None:
            query = query.where(_T.id == token_id)
        return int(self.conn.execute(query.values(revoked_at=at)).rowcount)


_S = t.web_sessions.c
_SESSION_COLUMNS = (_S.id, _S.user_id, _S.address, _S.created_at, _S.last_seen_at, _S.ended_at)


def _session(row: Any) -> WebSession:
    return WebSession(row.id, row.user_id, row.address, row.created_at, row.last_seen_at,
                      row.ended_at)


class SqlSessions(SqlRepository):
    def add(self, session_hash: str, user_id: int, address: str, at: datetime
            ) -> WebSession:
        session_id = self.conn.execute(insert(t.web_sessions).values(
            session_hash=session_hash, user_id=user_id, address=address, created_at=at,
            last_seen_at=at).returning(_S.id)).scalar_one()
        return WebSession(session_id, user_id, address, at, at)

    def by_hash(self, session_hash: str) -> WebSession | None:
        row = self.conn.execute(select(*_SESSION_COLUMNS)
                                .where(_S.session_hash == session_hash)).first()
        return None if row is None else _session(row)

    def touch(self, session_id: int, at: datetime) -> None:
        self.conn.execute(update(t.web_sessions).where(_S.id == session_id)
                          .values(last_seen_at=at))

    def end(self, session_id: int, at: datetime) -> None:
        self.conn.execute(update(t.web_sessions)
                          .where(_S.id == session_id, _S.ended_at.is_(None))
                          .values(ended_at=at))

    def end_all(self, user_id: int, at: datetime) -> int:
        return int(self.conn.execute(
            update(t.web_sessions).where(_S.user_id == user_id, _S.ended_at.is_(None))
            .values(ended_at=at)).rowcount)

    def open_of(self, user_id: int) -> builtins.list[WebSession]:
        return [_session(r) for r in self.conn.execute(
            select(*_SESSION_COLUMNS).where(_S.user_id == user_id, _S.ended_at.is_(None))
            .order_by(_S.id))]


_F = t.signin_failures.c


class SqlSigninFailures(SqlRepository):
    def add(self, user_name: str, address: str, at: datetime) -> None:
        self.conn.execute(insert(t.signin_failures).values(
            user_name=user_name, address=address, at=at))

    def count(self, since: datetime, *, user_name: str | None = None,
              address: str | None = None) -> int:
        query = select(func.count()).select_from(t.signin_failures).where(_F.at >= since)
        if user_name is not None:
            query = query.where(_F.user_name == user_name, _F.forgiven.is_(False))
        if address is not None:
            query = query.where(_F.address == address)
        return int(self.conn.execute(query).scalar_one())

    def forgive(self, user_name: str) -> None:
        self.conn.execute(update(t.signin_failures).where(_F.user_name == user_name)
                          .values(forgiven=True))
