"""Phones' SIP digest credentials."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select

from privline.adapters.db import tables as t
from privline.adapters.db.repositories.base import SqlRepository
from privline.services.ports.phones import PhoneCredential

_p = t.phone_credentials.c
_COLUMNS = (_p.username, _p.facility_id, _p.ha1, _p.created_at)


class SqlPhones(SqlRepository):
    def get(self, username: str) -> PhoneCredential | None:
        row = self.conn.execute(select(*_COLUMNS).where(_p.username == username)).first()
        return None if row is None else PhoneCredential(*row)

    def add(self, credential: PhoneCredential) -> None:
        self.conn.execute(insert(t.phone_credentials).values(
            username=credential.username, facility_id=credential.facility_id,
            ha1=credential.ha1, created_at=credential.created_at))

    def remove(self, username: str) -> bool:
        done = self.conn.execute(delete(t.phone_credentials).where(_p.username == username))
        return bool(done.rowcount)

    def list(self, facility_id: str | None) -> Sequence[PhoneCredential]:
        query = select(*_COLUMNS).order_by(_p.facility_id, _p.username)
        if facility_id is not None:
            query = query.where(_p.facility_id == facility_id)
        return [PhoneCredential(*row) for row in self.conn.execute(query)]
