"""The routing's port to privline's core: who may call, and the decision for a call.

The routing only speaks to a :class:`DecisionSource`. :class:`CoreDecisions` is the only
one privline ships: it calls :func:`privline.services.calls.decide_call`, the one copy
of the policy. No setting can replace it (the benchmark builds its routing with a stub
in bench code).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from privline.domain.access import Role
from privline.domain.model import Actor
from privline.domain.policy import CallRequest
from privline.services.calls import decide_call
from privline.services.ports import UnitOfWorkFactory

SWITCH_ACTOR = Actor("switch", Role.SWITCH)


@dataclass(frozen=True)
class FacilityInfo:
    id: str
    name: str
    phones: tuple[str, ...]
    reminder_interval_s: int = 300

    def trusts(self, address: str) -> bool:
        return _trusted(address, self.phones)


@lru_cache(maxsize=1024)
def _trusted(address: str, phones: tuple[str, ...]) -> bool:
    """Remembered: parsing the address and every network per INVITE cost more than the
    rest of the check (the phones' networks are part of the key, so a changed list is
    a new answer)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(cidr, strict=False) for cidr in phones)


@dataclass(frozen=True)
class RouteDecision:
    """The parts of a core Decision the routing acts on, as plain values."""

    mode: str  # private | recorded | denied
    reason: str
    announcements: tuple[str, ...]
    rate_per_minute: Decimal
    max_minutes: int
    number: str | None
    review: bool = False


class DecisionSource(Protocol):
    def facility(self, facility_id: str) -> FacilityInfo | None: ...

    def decide(
        self, facility_id: str, resident_id: str, dialled: str, private_requested: bool,
        pin: str | None, now: datetime, call_id: str,
    ) -> RouteDecision: ...


class CoreDecisions:
    """privline's own services behind the routing's port. Facility look-ups are cached
    for a few seconds per Kamailio worker; decisions never are."""

    def __init__(self, uow_factory: UnitOfWorkFactory, facility_ttl_s: float = 5.0) -> None:
        self._uow_factory = uow_factory
        self._ttl = facility_ttl_s
        self._facilities: dict[str, tuple[float, FacilityInfo | None]] = {}

    def facility(self, facility_id: str) -> FacilityInfo | None:
        hit = self._facilities.get(facility_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        with self._uow_factory() as uow:
            found = uow.facilities.get(facility_id)
        info = None if found is None else FacilityInfo(
            found.id, found.name, tuple(found.phones), found.reminder_interval_s)
        self._facilities[facility_id] = (time.monotonic() + self._ttl, info)
        return info

    def decide(
        self, facility_id: str, resident_id: str, dialled: str, private_requested: bool,
        pin: str | None, now: datetime, call_id: str,
    ) -> RouteDecision:
        request = CallRequest(facility_id, resident_id, dialled, private_requested, pin)
        d = decide_call(self._uow_factory, SWITCH_ACTOR, request, now=now,
                        sip_call_id=call_id)
        return RouteDecision(
            mode=str(d.mode), reason=str(d.reason),
            announcements=tuple(str(a) for a in d.announcements),
            rate_per_minute=d.rate_per_minute, max_minutes=d.max_minutes,
            number=d.number, review=d.review,
        )
