"""Charging a finished call to the resident's prepaid account (used by the switch).

One transaction per call: the ledger line (a negative ``charge`` tied to the SIP
Call-ID) and its audit event. A call is charged once: a second charge for the same
Call-ID is refused, so a repeated hangup event cannot bill twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from privline.domain.access import Action, Role
from privline.domain.model import Actor
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import InvalidInput
from privline.services.ports import LedgerLine, UnitOfWorkFactory

Biller = Callable[[str, str, int, int, datetime], int]


def charge_call(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    *,
    call_id: str,
    resident_id: str,
    amount_cents: int,
    minutes: int,
    now: datetime,
) -> int:
    """Post the charge for one call; returns the new balance in cents."""
    check_allowed(actor, Action.ACCOUNT_WRITE)
    if amount_cents < 0 or minutes < 0 or not call_id:
        raise InvalidInput("a call charge needs a call id and a non-negative amount",
                           code="invalid_amount")
    with uow_factory() as uow:
        balance = uow.accounts.post(LedgerLine(
            resident_id, "charge", -amount_cents, now, f"call {minutes} min", call_id))
        audit.record(uow, actor, "call.charge", f"call:{call_id}", now,
                     resident=resident_id, amount_cents=amount_cents, minutes=minutes,
                     balance_cents=balance)
        uow.commit()
    return balance


def make_biller() -> Biller:
    """A charge function bound to the configured database, acting as the switch."""
    from privline.adapters.db import make_uow_factory
    from privline.settings import Settings

    uow_factory = make_uow_factory(Settings.from_env())
    actor = Actor("switch", Role.STAFF)

    def bill(call_id: str, resident_id: str, cents: int, minutes: int, at: datetime) -> int:
        return charge_call(uow_factory, actor, call_id=call_id, resident_id=resident_id,
                           amount_cents=cents, minutes=minutes, now=at)

    return bill
