"""Residents' prepaid accounts: the ledger in integer cents."""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, select, update

from privline.adapters.db import tables as t
from privline.adapters.db.repositories.base import SqlRepository
from privline.services.ports.accounts import LedgerLine

_r = t.residents.c
_BALANCE = select(_r.balance_cents).where(_r.id == bindparam("id"))


class SqlAccounts(SqlRepository):
    def balance(self, resident_id: str) -> int:
        value = self.conn.execute(_BALANCE, {"id": resident_id}).scalar_one_or_none()
        return int(value or 0)

    def post(self, line: LedgerLine) -> int:
        self.conn.execute(insert(t.ledger).values(
            resident_id=line.resident_id, kind=line.kind, amount_cents=line.amount_cents,
            call_id=line.call_id, memo=line.memo, at=line.at))
        # One UPDATE ... RETURNING keeps the balance and the ledger consistent under
        # concurrent posts on both SQLite and PostgreSQL.
        return int(self.conn.execute(
            update(t.residents).where(t.residents.c.id == line.resident_id)
            .values(balance_cents=t.residents.c.balance_cents + line.amount_cents)
            .returning(t.residents.c.balance_cents)).scalar_one())


    def charged_for(self, call_id: str) -> int:
        value = self.conn.execute(select(func.coalesce(func.sum(t.ledger.c.amount_cents), 0))
                                  .where(t.ledger.c.call_id == call_id)).scalar_one()
        return int(value)
