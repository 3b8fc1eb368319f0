"""Prepaid accounts: integer cents, per-minute charges within the cap, no other fee."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from privline.adapters.db import tables as t
from privline.domain.money import MAX_CENTS
from privline.services import accounts
from privline.services.errors import Conflict, InvalidInput
from privline.services.ports import UnitOfWorkFactory
from tests.conftest import NOW, ROSA, STAFF, World


def balance(uow: UnitOfWorkFactory, resident: str = ROSA) -> int:
    with uow() as u:
        return u.accounts.balance(resident)


def ledger_kinds(uow: UnitOfWorkFactory) -> list[tuple[str, int]]:
    with uow() as u:
        rows = u.audit.conn.execute(  # type: ignore[attr-defined]
            select(t.ledger.c.kind, t.ledger.c.amount_cents).order_by(t.ledger.c.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_call_is_charged_by_the_started_minute(uow: UnitOfWorkFactory, world: World) -> None:
    cents = accounts.charge_call(uow, STAFF, resident_id=ROSA, call_id="c1", seconds=61,
                                 rate_per_minute=Decimal("0.11"), started=NOW, now=NOW)
    assert cents == 22 and balance(uow) == 2000 - 22


def test_a_rate_above_the_cap_is_charged_at_the_cap(uow: UnitOfWorkFactory, world: World
                                                    ) -> None:
    cents = accounts.charge_call(uow, STAFF, resident_id=ROSA, call_id="c1", seconds=600,
                                 rate_per_minute=Decimal("0.50"), started=NOW, now=NOW)
    assert cents == 110  # 10 minutes at the prison cap of $0.11 in force on NOW


def test_the_cap_is_the_one_in_force_on_the_calls_date(uow: UnitOfWorkFactory, world: World
                                                       ) -> None:
    started = NOW.replace(year=2025, month=6)  # the 2024 order: $0.06 for prisons
    cents = accounts.charge_call(uow, STAFF, resident_id=ROSA, call_id="c1", seconds=600,
                                 rate_per_minute=Decimal("0.11"), started=started, now=NOW)
    assert cents == 60


def test_a_call_is_billed_once_and_refunded_once(uow: UnitOfWorkFactory, world: World) -> None:
    accounts.charge_call(uow, STAFF, resident_id=ROSA, call_id="c1", seconds=120,
                         rate_per_minute=Decimal("0.11"), started=NOW, now=NOW)
    with pytest.raises(Conflict):
        accounts.charge_call(uow, STAFF, resident_id=ROSA, call_id="c1", seconds=120,
                             rate_per_minute=Decimal("0.11"), started=NOW, now=NOW)
    assert accounts.refund_call(uow, STAFF, resident_id=ROSA, call_id="c1",
                                reason="dropped call", now=NOW) == 22
    with pytest.raises(Conflict):
        accounts.refund_call(uow, STAFF, resident_id=ROSA, call_id="c1", reason="again",
                             now=NOW)
    assert balance(uow) == 2000
    assert ledger_kinds(uow) == [("deposit", 2000), ("charge", -22), ("refund", 22)]


def test_a_charge_never_takes_an_account_below_zero(uow: UnitOfWorkFactory, world: World
                                                    ) -> None:
    cents = accounts.charge_call(uow, STAFF, resident_id=ROSA, call_id="long", seconds=10**6,
                                 rate_per_minute=Decimal("0.11"), started=NOW, now=NOW)
    assert cents == 2000 and balance(uow) == 0


def test_a_deposit_that_would_take_a_balance_past_the_one_bound_is_refused_and_not_written(
        uow: UnitOfWorkFactory, world: World) -> None:
    accounts.deposit(uow, STAFF, resident_id=ROSA, amount_cents=MAX_CENTS - 2000, now=NOW)
    with pytest.raises(InvalidInput) as refused:
        accounts.deposit(uow, STAFF, resident_id=ROSA, amount_cents=1, now=NOW)
    assert refused.value.code == "invalid_amount"
    assert balance(uow) == MAX_CENTS
    with pytest.raises(InvalidInput):
        accounts.deposit(uow, STAFF, resident_id=ROSA, amount_cents=2**63, now=NOW)


def test_a_refund_reason_follows_the_one_free_text_rule(uow: UnitOfWorkFactory, world: World
                                                        ) -> None:
    with pytest.raises(InvalidInput) as refused:
        accounts.refund_call(uow, STAFF, resident_id=ROSA, call_id="c1",
                             reason="dropped\u202e", now=NOW)
    assert refused.value.code == "reason_required"


def test_concurrent_deposits_and_charges_keep_the_ledger_and_balance_equal(
        uow: UnitOfWorkFactory, world: World) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(5):
                accounts.deposit(uow, STAFF, resident_id=ROSA, amount_cents=100,
                                 now=NOW + timedelta(seconds=j))
                accounts.charge_call(uow, STAFF, resident_id=ROSA, call_id=f"t{i}-{j}",
                                     seconds=60, rate_per_minute=Decimal("0.11"),
                                     started=NOW, now=NOW)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert balance(uow) == 2000 + 20 * (100 - 11)
    assert balance(uow) == sum(amount for _, amount in ledger_kinds(uow))
