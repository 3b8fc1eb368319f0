"""The switch's port to privline's core: who may call, and the decision for a call.

The routing script only speaks to a :class:`Brain`. :class:`CoreBrain` is the real one:
it calls :func:`privline.services.calls.decide_call`, the one copy of the policy.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class FacilityInfo:
    id: str
    name: str
    phones: tuple[str, ...]
    reminder_interval_s: int = 300

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(cidr, strict=False) for cidr in self.phones)


@dataclass(frozen=True)
class Verdict:
    """The parts of a core Decision the switch acts on, as plain values."""

    mode: str  # private | recorded | denied
    reason: str
    announcements: tuple[str, ...]
    rate_per_minute: Decimal
    max_minutes: int
    number: str | None
    review: bool = False


class Brain(Protocol):
    def facility(self, facility_id: str) -> FacilityInfo | None: ...

    def decide(
        self, facility_id: str, resident_id: str, dialled: str, private_requested: bool,
        pin: str | None, now: datetime, call_id: str,
    ) -> Verdict: ...


class CoreBrain:
    """privline's own services behind the Brain port. Facility look-ups are cached for a
    few seconds per Kamailio worker; decisions never are."""

    def __init__(self, facility_ttl_s: float = 5.0) -> None:
        from privline.adapters.db import make_uow_factory
        from privline.domain.access import Role
        from privline.domain.model import Actor
        from privline.settings import Settings

        self._uow_factory = make_uow_factory(Settings.from_env())
        self._actor = Actor("switch", Role.SWITCH)
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
    ) -> Verdict:
        from privline.domain.policy import CallRequest
        from privline.services.calls import decide_call

        request = CallRequest(facility_id, resident_id, dialled, private_requested, pin)
        d = decide_call(self._uow_factory, self._actor, request, now=now, sip_call_id=call_id)
        return Verdict(
            mode=str(d.mode), reason=str(d.reason),
            announcements=tuple(str(a) for a in d.announcements),
            rate_per_minute=d.rate_per_minute, max_minutes=d.max_minutes,
            number=d.number, review=d.review,
        )


BrainFactory = Callable[[], Brain]


class CoreRecorder:
    """The call record in privline's database: answer, warnings, faults, end and bill.
    Runs in the call agent, off the SIP path."""

    def __init__(self) -> None:
        from privline.adapters.db import make_uow_factory
        from privline.domain.access import Role
        from privline.domain.model import Actor
        from privline.settings import Settings

        self._uow_factory = make_uow_factory(Settings.from_env())
        self._actor = Actor("switch", Role.SWITCH)

    def answered(self, call_id: str, at: datetime) -> None:
        from privline.services.call_records import call_answered

        call_answered(self._uow_factory, self._actor, call_id, at=at)

    def warning(self, call_id: str, prompt: str, at: datetime, evidence: dict[str, object]
                ) -> None:
        from privline.services.call_records import warning_played

        warning_played(self._uow_factory, self._actor, call_id, prompt=prompt, at=at,
                       evidence=evidence)

    def fault(self, call_id: str, at: datetime, fault: str) -> None:
        from privline.services.call_records import call_fault

        call_fault(self._uow_factory, self._actor, call_id, at=at, fault=fault)

    def ended(self, call_id: str, at: datetime, reason: str) -> int | None:
        """Close and bill; returns the charge in cents the core posted."""
        from privline.services.call_records import call_ended

        return call_ended(self._uow_factory, self._actor, call_id, at=at,
                          reason=reason).charge_cents
