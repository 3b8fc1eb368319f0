"""Facilities and residents: the people and places calls come from."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict
from datetime import datetime

import argon2

from privline.domain.access import Action
from privline.domain.errors import DomainError
from privline.domain.model import (
    Actor,
    Facility,
    Resident,
)
from privline.domain.numbers import valid_region
from privline.domain.rates import cap_in_force
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import Conflict, InvalidInput, NotFound
from privline.services.ports import LedgerLine, UnitOfWork, UnitOfWorkFactory

# OWASP's argon2id floor (19 MiB, 2 passes, 1 lane): about 20 ms on this hardware, where
# argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes) cost 200+ ms per call set-up on two
# cores. A PIN has few digits, so the lockout after 5 tries is what protects it online.
_hasher = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def add_facility(
    uow_factory: UnitOfWorkFactory, actor: Actor, facility: Facility, *, now: datetime
) -> Facility:
    check_allowed(actor, Action.FACILITY_WRITE)
    _validate_facility(facility, now)
    with uow_factory() as uow:
        if uow.facilities.get(facility.id) is not None:
            raise Conflict(f"facility {facility.id} already exists", code="facility_exists")
        uow.facilities.add(facility, now)
        details = {k: str(v) if v is not None else None for k, v in asdict(facility).items()}
        audit.record(uow, actor, "facility.add", f"facility:{facility.id}", now, **details)
        uow.commit()
    return facility


def _validate_facility(facility: Facility, now: datetime) -> None:
    if not facility.id or not facility.id.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput("facility id must be letters, digits, - or _", code="invalid_id")
    if not facility.name.strip():
        raise InvalidInput("facility name is empty", code="invalid_name")
    if facility.adp < 0:
        raise InvalidInput("average daily population cannot be negative", code="invalid_adp")
    if facility.max_call_minutes < 1 or facility.reminder_interval_s < 30:
        raise InvalidInput("call limit or reminder interval too small", code="invalid_limits")
    for cidr in facility.phones:
        try:
            ipaddress.ip_network(cidr)
        except ValueError as exc:
            raise InvalidInput(f"not an address range: {cidr}", code="invalid_phones") from exc
    if facility.rate_per_minute is not None:
        if facility.rate_per_minute < 0:
            raise InvalidInput("rate cannot be negative", code="invalid_rate")
        try:
            cap = cap_in_force(facility.kind, facility.adp, now.date())
        except DomainError as exc:
            raise InvalidInput(exc.message, code=exc.code) from exc
        if facility.rate_per_minute > cap.per_minute:
            raise InvalidInput(
                f"rate {facility.rate_per_minute} is above the cap in force "
                f"({cap.per_minute}, {cap.order})",
                code="rate_above_cap",
            )
    if not valid_region(facility.region):
        raise InvalidInput(f"unknown region {facility.region}", code="invalid_region")


def get_facility(uow: UnitOfWork, facility_id: str) -> Facility:
    facility = uow.facilities.get(facility_id)
    if facility is None:
        raise NotFound(f"no facility {facility_id}", code="facility_not_found")
    return facility


def add_resident(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    *,
    facility_id: str,
    resident_id: str,
    pin: str,
    opening_balance_cents: int = 0,
    now: datetime,
) -> Resident:
    check_allowed(actor, Action.RESIDENT_WRITE)
    if not resident_id or not resident_id.replace("-", "").replace("_", "").isalnum():
        raise InvalidInput("resident id must be letters, digits, - or _", code="invalid_id")
    if opening_balance_cents < 0:
        raise InvalidInput("opening balance cannot be negative", code="invalid_amount")
    resident = Resident(resident_id, facility_id, hash_pin(pin))
    with uow_factory() as uow:
        get_facility(uow, facility_id)
        existing = uow.residents.get(resident_id)
        if existing is not None:
            # The id is the agency's number for the person: say where they are now.
            raise Conflict(f"resident {resident_id} already exists at facility "
                           f"{existing.facility_id}", code="resident_exists",
                           facility=existing.facility_id)
        uow.residents.add(resident, now)
        if opening_balance_cents:
            uow.accounts.post(LedgerLine(resident_id, "deposit", opening_balance_cents, now,
                                         "opening balance"))
        audit.record(uow, actor, "resident.add", f"resident:{resident_id}", now,
                     facility=facility_id, opening_balance_cents=opening_balance_cents)
        uow.commit()
    return resident


def hash_pin(pin: str) -> str:
    """A new PIN's stored form; refuses a PIN that is not 4 to 12 digits."""
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise InvalidInput("PIN must be 4 to 12 digits", code="invalid_pin")
    return _hasher.hash(pin)


def pin_matches(pin_hash: str, pin: str) -> bool:
    """The slow argon2 check, on its own so callers can run it outside a transaction."""
    try:
        return bool(_hasher.verify(pin_hash, pin))
    except argon2.exceptions.VerificationError:
        return False
