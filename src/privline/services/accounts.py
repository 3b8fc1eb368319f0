"""Prepaid accounts: a ledger of integer cents; the balance is its sum."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.errors import NoRateCap
from privline.domain.model import Actor
from privline.domain.money import MAX_CENTS, check_cents
from privline.domain.rates import cap_in_force, charge_cents
from privline.domain.text import free_text
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import Conflict, InvalidInput, NotFound, checked
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.accounts import LedgerLine


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
    if not 0 < checked(check_cents, amount_cents):
        raise InvalidInput("a deposit must be more than $0", code="invalid_amount")
    memo = checked(free_text, "memo", memo, required=False)
    with uow_factory() as uow:
        if uow.residents.get(resident_id) is None:
            raise NotFound(f"no resident {resident_id}", code="resident_not_found")
        balance = uow.accounts.post(LedgerLine(resident_id, "deposit", amount_cents, now, memo))
        if balance > MAX_CENTS:  # rolled back: one bound for amounts and balances alike
            raise InvalidInput(f"a balance is at most ${MAX_CENTS // 100:,}",
                               code="invalid_amount")
        audit.record(uow, actor, AuditAction.ACCOUNT_DEPOSIT, f"resident:{resident_id}", now,
                     amount_cents=amount_cents, balance_cents=balance)
        uow.commit()
    return balance


def charge_call(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    *,
    resident_id: str,
    call_id: str,
    seconds: int,
    rate_per_minute: Decimal,
    started: datetime,
    now: datetime,
) -> int:
    """Bill a finished call: minutes rounded up, at most the cap in force on its date.

    Returns the cents charged. The per-minute charge is the only charge that exists.
    """
    check_allowed(actor, Action.ACCOUNT_WRITE)
    with uow_factory() as uow:
        cents = bill(uow, actor, resident_id=resident_id, call_id=call_id, seconds=seconds,
                     rate_per_minute=rate_per_minute, started=started, now=now)
        uow.commit()
    return cents


def bill(
    uow: UnitOfWork,
    actor: Actor,
    *,
    resident_id: str,
    call_id: str,
    seconds: int,
    rate_per_minute: Decimal,
    started: datetime,
    now: datetime,
) -> int:
    """Charge a call inside the caller's transaction (see :func:`charge_call`)."""
    if seconds < 0 or rate_per_minute < 0:
        raise InvalidInput("duration and rate cannot be negative", code="invalid_charge")
    # The resident, their facility and balance in one read: the call agent bills every
    # answered call, and this was five statements.
    found = uow.residents.caller(resident_id)
    if found is None:
        raise NotFound(f"no resident {resident_id}", code="resident_not_found")
    facility = found.facility
    if uow.accounts.charged_for(call_id) != 0:
        raise Conflict(f"call {call_id} is already billed", code="already_billed")
    try:
        cap = cap_in_force(facility.kind, facility.adp, started.date()).per_minute
    except NoRateCap:
        cap = Decimal(0)
    rate = min(rate_per_minute, cap)
    # The decision limited the call to what the balance buys; clamp anyway so a late
    # hangup can never push an account below zero.
    cents = min(charge_cents(seconds, rate), max(found.balance_cents, 0))
    if cents:
        uow.accounts.post(LedgerLine(resident_id, "charge", -cents, now,
                                     f"{seconds}s at {rate}/min", call_id))
    audit.record(uow, actor, AuditAction.ACCOUNT_CHARGE, f"call:{call_id}", now,
                 resident=resident_id, seconds=seconds, rate=str(rate), cents=cents)
    return cents


def refund_call(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    *,
    resident_id: str,
    call_id: str,
    reason: str,
    now: datetime,
) -> int:
    """Give back what a call cost (e.g. a dropped call); returns the cents refunded."""
    check_allowed(actor, Action.ACCOUNT_WRITE)
    reason = checked(free_text, "reason", reason, code="reason_required")
    with uow_factory() as uow:
        charged = -uow.accounts.charged_for(call_id)
        if charged <= 0:
            raise Conflict(f"nothing to refund for call {call_id}", code="nothing_to_refund")
        uow.accounts.post(LedgerLine(resident_id, "refund", charged, now, reason, call_id))
        audit.record(uow, actor, AuditAction.ACCOUNT_REFUND, f"call:{call_id}", now,
                     resident=resident_id, cents=charged, reason=reason)
        uow.commit()
    return charged
