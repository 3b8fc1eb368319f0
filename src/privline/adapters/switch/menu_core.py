"""The voice menu's port to privline's core: who is calling, and the one decision.

The decision is :class:`CoreDecisions`' (``decide_call``), exactly as for a kiosk; this
adds the two questions a stock phone raises: which facility its address belongs to, and
which resident keyed this PIN.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from privline.adapters.switch.decisions import SWITCH_ACTOR, CoreDecisions, RouteDecision
from privline.domain.model import Facility
from privline.services.blocks import called_party_block
from privline.services.callers import facility_by_id, facility_for_phone, resident_for_pin
from privline.services.ports import UnitOfWorkFactory


@dataclass(frozen=True)
class MenuFacility:
    id: str
    name: str
    reminder_interval_s: int = 300
    language: str = "en"


def _menu_facility(found: Facility | None) -> MenuFacility | None:
    return None if found is None else MenuFacility(
        found.id, found.name, found.reminder_interval_s, found.language)


class MenuCore(Protocol):
    def facility_at(self, address: str) -> MenuFacility | None: ...
    def facility_named(self, facility_id: str) -> MenuFacility | None: ...
    def resident(self, facility_id: str, pin: str) -> tuple[str, str | None] | None:
        """(resident id, their language or None) of the PIN's resident."""
        ...
    def decide(
        self, facility_id: str, resident_id: str, dialled: str, private_requested: bool,
        pin: str | None, now: datetime, call_id: str,
    ) -> RouteDecision: ...
    def block_number(self, facility_id: str, number: str, now: datetime) -> bool:
        """The called party pressed 6; False when the number may not be blocked."""
        ...


class CoreMenu:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory
        self._decisions = CoreDecisions(uow_factory)

    def facility_at(self, address: str) -> MenuFacility | None:
        return _menu_facility(facility_for_phone(self._uow_factory, SWITCH_ACTOR, address))

    def facility_named(self, facility_id: str) -> MenuFacility | None:
        return _menu_facility(facility_by_id(self._uow_factory, SWITCH_ACTOR, facility_id))

    def resident(self, facility_id: str, pin: str) -> tuple[str, str | None] | None:
        return resident_for_pin(self._uow_factory, SWITCH_ACTOR, facility_id, pin)

    def decide(
        self, facility_id: str, resident_id: str, dialled: str, private_requested: bool,
        pin: str | None, now: datetime, call_id: str,
    ) -> RouteDecision:
        return self._decisions.decide(facility_id, resident_id, dialled, private_requested,
                                      pin, now, call_id)

    def block_number(self, facility_id: str, number: str, now: datetime) -> bool:
        return called_party_block(self._uow_factory, SWITCH_ACTOR, facility_id=facility_id,
                                  number=number, now=now)
