"""Facilities and residents: the people and places calls come from."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict
from datetime import datetime

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.errors import DomainError
from privline.domain.menu import LANGUAGES
from privline.domain.model import (
    Actor,
    Facility,
    Resident,
)
from privline.domain.money import check_cents
from privline.domain.numbers import valid_region
from privline.domain.rates import cap_in_force
from privline.domain.text import ascii_id, free_text, parse_pin
from privline.services import audit, pins
from privline.services.access import check_allowed
from privline.services.errors import Conflict, InvalidInput, NotFound, checked
from privline.services.ports import UnitOfWork, UnitOfWorkFactory
from privline.services.ports.accounts import LedgerLine


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
        audit.record(uow, actor, AuditAction.FACILITY_ADD,
                     f"facility:{facility.id}", now, **details)
        uow.commit()
    return facility


def _validate_facility(facility: Facility, now: datetime) -> None:
    checked(ascii_id, "id", facility.id)
    checked(free_text, "name", facility.name, limit=200)
    if not 0 <= facility.adp <= 10_000_000:
        raise InvalidInput("average daily population is 0 to 10,000,000", code="invalid_adp")
    if not (1 <= facility.max_call_minutes <= 1440 and 30 <= facility.reminder_interval_s
            <= 86_400):
        raise InvalidInput("call limit (1 to 1440 minutes) or reminder interval (30 s to a "
                           "day) out of range", code="invalid_limits")
    if facility.language not in LANGUAGES:
        raise InvalidInput(f"language is one of {', '.join(LANGUAGES)}",
                           code="invalid_language")
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


def refuse_taken_pin(uow: UnitOfWork, facility_id: str, resident_id: str, pin: str) -> None:
    """Refuse a PIN another resident of the facility holds (the voice menu knows a
    resident by PIN alone), saying nothing of whose it is. Every path that sets a PIN
    (add, reset, move) calls this inside its transaction, before writing."""
    uow.residents.lock_pins(facility_id)
    if pins.held_by_another(pins.require(uow.pins), uow.residents.pin_hashes(facility_id),
                            pin, resident_id):
        raise Conflict(f"this PIN is already in use at facility {facility_id}; choose "
                       "another", code="pin_taken", facility=facility_id)


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
    language: str | None = None,
    now: datetime,
) -> Resident:
    check_allowed(actor, Action.RESIDENT_WRITE)
    checked(ascii_id, "id", resident_id)
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(f"language is one of {', '.join(LANGUAGES)}",
                           code="invalid_language")
    checked(check_cents, opening_balance_cents)
    checked(parse_pin, pin)
    with uow_factory() as uow:
        resident = Resident(resident_id, facility_id,
                            pins.hash_pin(pins.require(uow.pins), resident_id, pin),
                            language=language)
        get_facility(uow, facility_id)
        existing = uow.residents.get(resident_id)
        if existing is not None:
            # The id is the agency's number for the person: say where they are now.
            raise Conflict(f"resident {resident_id} already exists at facility "
                           f"{existing.facility_id}", code="resident_exists",
                           facility=existing.facility_id)
        refuse_taken_pin(uow, facility_id, resident_id, pin)
        uow.residents.add(resident, now)
        if opening_balance_cents:
            uow.accounts.post(LedgerLine(resident_id, "deposit", opening_balance_cents, now,
                                         "opening balance"))
        audit.record(uow, actor, AuditAction.RESIDENT_ADD, f"resident:{resident_id}", now,
                     facility=facility_id, opening_balance_cents=opening_balance_cents)
        uow.commit()
    return resident

