"""Every record staff keep can be listed, shown and changed: facilities, residents,
accounts and blocks. Each change is one transaction with its audit event.

Reads check the read action (``facility.read``, ``resident.read``); changes the write
action the table in domain/access.py names for them. A resident or block another
facility holds answers like one that does not exist only where scope applies (today,
staff see every facility, as the permissions table says).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Generic, TypeVar

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.errors import DomainError
from privline.domain.model import Actor, CallRecord, Facility, Resident
from privline.domain.policy import UnknownPrivilege
from privline.domain.rates import RateCap, cap_in_force
from privline.domain.text import parse_pin
from privline.services import audit, pins
from privline.services.access import check_allowed
from privline.services.errors import Conflict, InvalidInput, NotFound, checked
from privline.services.facilities import _validate_facility, get_facility, refuse_taken_pin
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.records import BlockRow, CallFilter, LedgerRow, ResidentRow

MAX_PAGE = 1000
RECENT_CALLS = 20
LEDGER_LINES = 100


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; ``more`` says whether a next page exists."""

    items: Sequence[T]
    more: bool
    offset: int
    limit: int


@dataclass(frozen=True)
class FacilityView:
    facility: Facility
    cap: RateCap | None  # None: no cap covers it (it then cannot charge)
    rate: Decimal | None  # what calls cost: its own rate, or the cap


@dataclass(frozen=True)
class ResidentView:
    resident: ResidentRow
    locked: bool
    recent_calls: Sequence[CallRecord]


@dataclass(frozen=True)
class AccountView:
    resident_id: str
    balance_cents: int
    ledger: Sequence[LedgerRow]


def check_page(limit: int, offset: int) -> None:
    if not (1 <= limit <= MAX_PAGE and offset >= 0):
        raise InvalidInput(f"limit must be 1..{MAX_PAGE} and offset >= 0", code="invalid_page")


def _page(rows: Sequence[T], limit: int, offset: int) -> Page[T]:
    # Callers ask for one row more than the page: its presence is the "more" flag.
    return Page(rows[:limit], len(rows) > limit, offset, limit)


# --- facilities --------------------------------------------------------------------------


def _facility_view(facility: Facility, now: datetime) -> FacilityView:
    try:
        cap: RateCap | None = cap_in_force(facility.kind, facility.adp, now.date())
    except DomainError:
        cap = None
    rate = facility.rate_per_minute if facility.rate_per_minute is not None else (
        cap.per_minute if cap else None)
    return FacilityView(facility, cap, rate)


def list_facilities(uow_factory: UnitOfWorkFactory, actor: Actor, *, now: datetime
                    ) -> Sequence[FacilityView]:
    check_allowed(actor, Action.FACILITY_READ)
    with uow_factory() as uow:
        return [_facility_view(f, now) for f in uow.facilities.list()]


def show_facility(uow_factory: UnitOfWorkFactory, actor: Actor, facility_id: str, *,
                  now: datetime) -> FacilityView:
    check_allowed(actor, Action.FACILITY_READ)
    with uow_factory() as uow:
        return _facility_view(get_facility(uow, facility_id), now)


def parse_rate(text: str) -> Decimal:
    """A per-minute rate in dollars, e.g. ``"0.09"``; whether it is within the cap is
    :func:`set_facility`'s to judge."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise InvalidInput(f"not a rate in dollars: {text!r}", code="invalid_rate") from exc
    if not value.is_finite():
        raise InvalidInput(f"not a rate in dollars: {text!r}", code="invalid_rate")
    return value


@dataclass(frozen=True)
class FacilityChanges:
    """What `facility set` may change; None leaves a setting as it is."""

    name: str | None = None
    adp: int | None = None
    rate: Decimal | None = None
    rate_to_cap: bool = False  # charge the cap in force (clears the facility's own rate)
    max_minutes: int | None = None
    reminder_interval_s: int | None = None
    phones: tuple[str, ...] | None = None
    unknown_privilege: str | None = None

    def apply(self, facility: Facility) -> Facility:
        changes: dict[str, object] = {}
        if self.rate is not None and self.rate_to_cap:
            raise InvalidInput("give a rate or ask for the cap, not both", code="invalid_rate")
        if self.unknown_privilege is not None:
            try:
                changes["unknown_privilege"] = UnknownPrivilege(self.unknown_privilege)
            except ValueError as exc:
                raise InvalidInput("unknown privilege policy must be refuse or "
                                   "connect_unrecorded", code="invalid_policy") from exc
        for field, value in (("name", self.name), ("adp", self.adp),
                             ("rate_per_minute", self.rate),
                             ("max_call_minutes", self.max_minutes),
                             ("reminder_interval_s", self.reminder_interval_s),
                             ("phones", self.phones)):
            if value is not None:
                changes[field] = value
        if self.rate_to_cap:
            changes["rate_per_minute"] = None
        if not changes:
            raise InvalidInput("nothing to change", code="nothing_to_change")
        return dataclasses.replace(facility, **changes)  # type: ignore[arg-type]


def set_facility(uow_factory: UnitOfWorkFactory, actor: Actor, facility_id: str,
                 changes: FacilityChanges, *, now: datetime) -> FacilityView:
    """Change a facility's settings. The rate is checked against the cap in force for
    its (possibly new) size: a rate above the cap is refused, whatever else changes."""
    check_allowed(actor, Action.FACILITY_WRITE)
    with uow_factory() as uow:
        before = get_facility(uow, facility_id)
        after = changes.apply(before)
        _validate_facility(after, now)
        uow.records.update_facility(after)
        changed = {k: _text(getattr(after, k)) for k in _fields(before)
                   if getattr(after, k) != getattr(before, k)}
        audit.record(uow, actor, AuditAction.FACILITY_SET,
                     f"facility:{facility_id}", now, **changed)
        uow.commit()
    return _facility_view(after, now)


def _fields(facility: Facility) -> list[str]:
    return [f.name for f in dataclasses.fields(facility)]


def _text(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    return None if value is None else str(value)


# --- residents -------------------------------------------------------------------------


def list_residents(uow_factory: UnitOfWorkFactory, actor: Actor, *,
                   facility_id: str | None = None, query: str | None = None,
                   limit: int = 100, offset: int = 0) -> Page[ResidentRow]:
    check_allowed(actor, Action.RESIDENT_READ)
    check_page(limit, offset)
    with uow_factory() as uow:
        if facility_id is not None:
            get_facility(uow, facility_id)
        rows = uow.records.residents(facility_id, (query or "").strip() or None, limit + 1,
                                     offset)
    return _page(rows, limit, offset)


def _resident(uow: UnitOfWork, resident_id: str) -> ResidentRow:
    row = uow.records.resident(resident_id)
    if row is None:
        raise NotFound(f"no resident {resident_id}", code="resident_not_found")
    return row


def _entity(uow: UnitOfWork, resident_id: str) -> Resident:
    resident = uow.residents.get(resident_id)
    if resident is None:
        raise NotFound(f"no resident {resident_id}", code="resident_not_found")
    return resident


def show_resident(uow_factory: UnitOfWorkFactory, actor: Actor, resident_id: str, *,
                  now: datetime) -> ResidentView:
    check_allowed(actor, Action.RESIDENT_READ)
    with uow_factory() as uow:
        row = _resident(uow, resident_id)
        calls = uow.records.calls(CallFilter(resident_id=resident_id), RECENT_CALLS, 0)
    locked = row.locked_until is not None and now < row.locked_until
    return ResidentView(row, locked, calls)


def unlock_resident(uow_factory: UnitOfWorkFactory, actor: Actor, resident_id: str, *,
                    now: datetime) -> None:
    """Lift a PIN lockout and clear the count of wrong PINs."""
    check_allowed(actor, Action.RESIDENT_WRITE)
    with uow_factory() as uow:
        resident = _entity(uow, resident_id)
        was = resident.locked_until
        resident.locked_until, resident.failed_pins = None, 0
        uow.residents.save(resident)
        audit.record(uow, actor, AuditAction.RESIDENT_UNLOCK, f"resident:{resident_id}", now,
                     locked_until=was.isoformat() if was else None)
        uow.commit()


def set_pin(uow_factory: UnitOfWorkFactory, actor: Actor, resident_id: str, *, pin: str,
            now: datetime) -> None:
    """Give a resident a new PIN (which also lifts a lockout). The PIN is never logged."""
    check_allowed(actor, Action.RESIDENT_WRITE)
    checked(parse_pin, pin)
    with uow_factory() as uow:
        row = _resident(uow, resident_id)
        refuse_taken_pin(uow, row.facility_id, resident_id, pin)
        uow.records.set_pin_hash(resident_id,
                                 pins.hash_pin(pins.require(uow.pins), resident_id, pin))
        audit.record(uow, actor, AuditAction.RESIDENT_SET_PIN, f"resident:{resident_id}", now)
        uow.commit()


def deactivate_resident(uow_factory: UnitOfWorkFactory, actor: Actor, resident_id: str, *,
                        now: datetime) -> None:
    """A released or transferred-out resident: no more calls; the record and ledger stay."""
    check_allowed(actor, Action.RESIDENT_WRITE)
    with uow_factory() as uow:
        resident = _entity(uow, resident_id)
        if not resident.active:
            raise Conflict(f"resident {resident_id} is already inactive",
                           code="already_inactive")
        resident.active = False
        uow.residents.save(resident)
        audit.record(uow, actor, AuditAction.RESIDENT_DEACTIVATE, f"resident:{resident_id}", now)
        uow.commit()


def move_resident(uow_factory: UnitOfWorkFactory, actor: Actor, resident_id: str, *,
                  facility_id: str, now: datetime) -> None:
    """Move a resident to another facility; the id (the agency's number) goes with them."""
    check_allowed(actor, Action.RESIDENT_WRITE)
    with uow_factory() as uow:
        row = _resident(uow, resident_id)
        get_facility(uow, facility_id)
        if row.facility_id == facility_id:
            raise Conflict(f"resident {resident_id} is already at facility {facility_id}",
                           code="same_facility", facility=facility_id)
        uow.records.move_resident(resident_id, facility_id)
        audit.record(uow, actor, AuditAction.RESIDENT_MOVE, f"resident:{resident_id}", now,
                     **{"from": row.facility_id, "to": facility_id})
        uow.commit()


def show_account(uow_factory: UnitOfWorkFactory, actor: Actor, resident_id: str
                 ) -> AccountView:
    check_allowed(actor, Action.RESIDENT_READ)
    with uow_factory() as uow:
        row = _resident(uow, resident_id)
        lines = uow.records.ledger(resident_id, LEDGER_LINES)
    return AccountView(resident_id, row.balance_cents, lines)


# --- blocks -------------------------------------------------------------------------------


def list_blocks(uow_factory: UnitOfWorkFactory, actor: Actor, *,
                facility_id: str | None = None, limit: int = 100, offset: int = 0
                ) -> Page[BlockRow]:
    check_allowed(actor, Action.RESIDENT_READ)
    check_page(limit, offset)
    with uow_factory() as uow:
        if facility_id is not None:
            get_facility(uow, facility_id)
        rows = uow.records.blocks(facility_id, limit + 1, offset)
    return _page(rows, limit, offset)


def remove_block(uow_factory: UnitOfWorkFactory, actor: Actor, block_id: int, *,
                 reason: str, now: datetime) -> BlockRow:
    check_allowed(actor, Action.RESIDENT_WRITE)
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise InvalidInput("say why the block is removed (1 to 200 characters)",
                           code="reason_required", fields={"reason": "Say why"})
    with uow_factory() as uow:
        block = uow.records.block(block_id)
        if block is None:
            raise NotFound(f"no block {block_id}", code="block_not_found")
        uow.records.remove_block(block_id)
        audit.record(uow, actor, AuditAction.BLOCK_REMOVE, f"facility:{block.facility_id}", now,
                     block=block_id, number=block.number, resident=block.resident_id,
                     reason=reason)
        uow.commit()
    return block
