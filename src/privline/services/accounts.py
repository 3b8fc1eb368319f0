"""Prepaid accounts: a ledger of integer cents; the balance is its sum."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from privline.domain.access import Action
from privline.domain.model import Actor
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import InvalidInput, NotFound
from privline.services.ports import LedgerLine, UnitOfWorkFactory

_MAX_DEPOSIT_CENTS = 100_000_00


def parse_usd(text: str) -> int:
    """``"12.50"`` -> 1250 cents. Refuses fractions of a cent, negatives and junk."""
    try:
        amount = Decimal(text.strip().lstrip("$"))
    except InvalidOperation as exc:
        raise InvalidInput(f"not an amount of dollars: {text!r}", code="invalid_amount") from exc
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(f"not an amount of dollars: {text!r}", code="invalid_amount")
    return int(amount * 100)


def deposit(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    *,
    resident_id: str,
    amount_cents: int,
    now: datetime,
    memo: str = "",
) -> int:
    """Credit a resident's account; returns the new balance in cents."""
    check_allowed(actor, Action.ACCOUNT_WRITE)
    if not 0 < amount_cents <= _MAX_DEPOSIT_CENTS:
        raise InvalidInput("deposit must be positive and at most $100,000", code="invalid_amount")
    with uow_factory() as uow:
        if uow.residents.get(resident_id) is None:
            raise NotFound(f"no resident {resident_id}", code="resident_not_found")
        balance = uow.accounts.post(LedgerLine(resident_id, "deposit", amount_cents, now, memo))
        audit.record(uow, actor, "account.deposit", f"resident:{resident_id}", now,
                     amount_cents=amount_cents, balance_cents=balance)
        uow.commit()
    return balance
