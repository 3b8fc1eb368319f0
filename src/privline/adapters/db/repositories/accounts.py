"""Residents' prepaid accounts: the ledger in integer cents.

Straight on the driver (driver.py): the call agent bills every answered call through
these, and SQLAlchemy's statement machinery cost more than the statements.
"""

from __future__ import annotations

from privline.adapters.db import driver as sql
from privline.adapters.db.repositories.base import SqlRepository
from privline.services.ports.accounts import LedgerLine

_BALANCE = sql.Statement("SELECT balance_cents FROM residents WHERE id = ?")


class SqlAccounts(SqlRepository):
    def balance(self, resident_id: str) -> int:
        row = self.driver.one(_BALANCE, (resident_id,))
        return int(row[0] or 0) if row is not None else 0

    def post(self, line: LedgerLine) -> int:
        d = self.driver
        d.rows(sql.LEDGER_LINE, (line.resident_id, line.kind, line.amount_cents, line.call_id,
                                 line.memo, d.time_in(line.at)))
        row = d.one(sql.MOVE_BALANCE, (line.amount_cents, line.resident_id))
        if row is None:
            raise LookupError(f"no resident {line.resident_id}")
        return int(row[0])

    def charged_for(self, call_id: str) -> int:
        row = self.driver.one(sql.CHARGED_FOR, (call_id,))
        return int(row[0]) if row is not None else 0
