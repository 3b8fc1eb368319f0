"""Residents' prepaid accounts: a ledger in integer cents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class LedgerLine:
    resident_id: str
    kind: str  # deposit | charge | refund
    amount_cents: int  # signed: deposits and refunds positive, charges negative
    at: datetime
    memo: str = ""
    call_id: str | None = None


class AccountRepository(Protocol):
    def balance(self, resident_id: str) -> int: ...
    def post(self, line: LedgerLine) -> int: ...
    def charged_for(self, call_id: str) -> int:
        """Net ledger amount for one call: negative when charged, 0 after a refund."""
        ...
