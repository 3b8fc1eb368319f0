"""Facilities, their residents (with the call decision's one read of a caller) and their
contact rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update

from privline.adapters.db import driver as sql
from privline.adapters.db import tables as t
from privline.adapters.db.repositories.base import SqlRepository
from privline.domain.model import Facility, Resident
from privline.domain.policy import UnknownPrivilege
from privline.domain.rates import FacilityKind
from privline.services.ports.facilities import Caller

# The call path's statements run on the driver (driver.py); the rest stay SQLAlchemy Core.
_r = t.residents.c


_FACILITY = select(t.facilities).where(t.facilities.c.id == bindparam("id"))


_RESIDENT = select(_r.id, _r.facility_id, _r.pin_hash, _r.active, _r.failed_pins,
                   _r.locked_until).where(_r.id == bindparam("id"))


_SAVE_RESIDENT = update(t.residents).where(_r.id == bindparam("rid")).values(
    pin_hash=bindparam("pin_hash"), active=bindparam("active"),
    failed_pins=bindparam("failed_pins"), locked_until=bindparam("locked_until"))


class SqlFacilities(SqlRepository):
    def get(self, facility_id: str) -> Facility | None:
        row = self.conn.execute(_FACILITY, {"id": facility_id}).first()
        return None if row is None else _facility(row)

    def add(self, facility: Facility, at: datetime) -> None:
        values = {c.name: getattr(facility, c.name) for c in t.facilities.c
                  if c.name not in ("phones", "created_at")}
        self.conn.execute(insert(t.facilities).values(
            **values, phones=",".join(facility.phones), created_at=at))

    def list(self) -> Sequence[Facility]:
        rows = self.conn.execute(select(t.facilities).order_by(t.facilities.c.id))
        return [_facility(r) for r in rows]


def _facility(row: Row[Any]) -> Facility:
    m = row._mapping
    return Facility(
        id=m["id"], name=m["name"], kind=FacilityKind(m["kind"]), adp=m["adp"],
        region=m["region"], outside_prefix=m["outside_prefix"],
        international_prefix=m["international_prefix"],
        unknown_privilege=UnknownPrivilege(m["unknown_privilege"]),
        private_calls_free=m["private_calls_free"], rate_per_minute=m["rate_per_minute"],
        max_call_minutes=m["max_call_minutes"], reminder_interval_s=m["reminder_interval_s"],
        phones=tuple(p for p in m["phones"].split(",") if p), language=m["language"],
    )


class SqlResidents(SqlRepository):
    def get(self, resident_id: str) -> Resident | None:
        row = self.conn.execute(_RESIDENT, {"id": resident_id}).first()
        return None if row is None else Resident(*row)

    def caller(self, resident_id: str) -> Caller | None:
        row = self.driver.one(sql.CALLER, (resident_id,))
        if row is None:
            return None
        id_, facility_id, pin_hash, active, failed_pins, locked_until, balance = row[:7]
        resident = Resident(id_, facility_id, pin_hash, bool(active), failed_pins,
                            self.driver.time_out(locked_until))
        return Caller(resident, _caller_facility(row[7:]), int(balance or 0))

    def add(self, resident: Resident, at: datetime) -> None:
        self.conn.execute(insert(t.residents).values(
            id=resident.id, facility_id=resident.facility_id, pin_hash=resident.pin_hash,
            active=resident.active, failed_pins=resident.failed_pins,
            locked_until=resident.locked_until, balance_cents=0, created_at=at,
            language=resident.language))

    def pin_hashes(self, facility_id: str) -> Sequence[tuple[str, str, str | None]]:
        rows = self.conn.execute(select(_r.id, _r.pin_hash, _r.language).where(
            _r.facility_id == facility_id).order_by(_r.id))
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]

    def lock_pins(self, facility_id: str) -> None:
        # Every PIN change appends to the audit chain, whose head row it locks until
        # commit; taking that lock first orders two PIN changes (as vault.lock_number
        # does, and for the same deadlock-free reason). SQLite: BEGIN IMMEDIATE already
        # gave this transaction the only write lock.
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(select(t.audit_head.c.seq).where(t.audit_head.c.id == 1)
                              .with_for_update())

    def save(self, resident: Resident) -> None:
        self.conn.execute(_SAVE_RESIDENT, {
            "rid": resident.id, "pin_hash": resident.pin_hash, "active": resident.active,
            "failed_pins": resident.failed_pins, "locked_until": resident.locked_until})


# Facilities as the decision's read last found them, by their columns' values: the same
# values make the same (frozen) Facility, so a changed facility is simply a new key.
# Building one (enums, the decimal rate, the phones) cost more than some statements.
_FACILITIES: dict[tuple[Any, ...], Facility] = {}


def _caller_facility(columns: tuple[Any, ...]) -> Facility:
    facility = _FACILITIES.get(columns)
    if facility is None:
        (id_, name, kind, adp, region, outside, international, unknown, free, rate,
         max_minutes, reminder, phones) = columns
        facility = Facility(
            id=id_, name=name, kind=FacilityKind(kind), adp=adp, region=region,
            outside_prefix=outside, international_prefix=international,
            unknown_privilege=UnknownPrivilege(unknown), private_calls_free=bool(free),
            rate_per_minute=None if rate is None else Decimal(rate),
            max_call_minutes=max_minutes, reminder_interval_s=reminder,
            phones=tuple(p for p in phones.split(",") if p))
        if len(_FACILITIES) >= 256:
            _FACILITIES.clear()
        _FACILITIES[columns] = facility
    return facility


class SqlBlocks(SqlRepository):
    def is_blocked(self, facility_id: str, resident_id: str, number: str) -> bool:
        return self.driver.one(sql.BLOCKED, (number, facility_id, resident_id)) is not None

    def add(self, facility_id: str, resident_id: str | None, number: str, reason: str,
            at: datetime) -> None:
        self.conn.execute(insert(t.blocked_numbers).values(
            facility_id=facility_id, resident_id=resident_id, number=number, reason=reason,
            created_at=at))
