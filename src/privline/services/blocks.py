"""Blocked numbers: contact rules a facility sets for all or one of its residents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from privline.domain.access import Action
from privline.domain.audit_events import AuditAction
from privline.domain.errors import InvalidNumber
from privline.domain.model import Actor
from privline.domain.numbers import to_e164
from privline.domain.registry import Privilege, privilege_at
from privline.domain.text import free_text
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import Conflict, InvalidInput, NotFound, checked
from privline.services.facilities import get_facility
from privline.services.ports import UnitOfWorkFactory
from privline.services.ports.registry import RegistryUnavailable

PRIVILEGED_WARNING = ("this number is a verified privileged number: the block is kept, but "
                      "it can never stop a privileged call")


@dataclass(frozen=True)
class BlockAdded:
    id: int
    number: str  # E.164
    warning: str | None  # said to whoever added it; None when there is nothing to say


def block_number(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    *,
    facility_id: str,
    number: str,
    reason: str,
    resident_id: str | None = None,
    now: datetime,
) -> BlockAdded:
    """Block ``number`` at a facility (or for one resident).

    A block can refuse an ordinary call; it can never make a privileged call recorded or
    refused (the policy checks privilege before blocks), so blocking a verified
    privileged number is kept but answered with a warning saying so. The same block
    twice is refused.
    """
    check_allowed(actor, Action.RESIDENT_WRITE)
    reason = checked(free_text, "reason", reason)
    with uow_factory() as uow:
        facility = get_facility(uow, facility_id)
        try:
            e164 = to_e164(number, facility.dial_plan)
        except InvalidNumber as exc:
            raise InvalidInput(exc.message, code=exc.code) from exc
        if resident_id is not None:
            resident = uow.residents.get(resident_id)
            if resident is None or resident.facility_id != facility_id:
                raise NotFound(f"no resident {resident_id}", code="resident_not_found")
        existing = uow.records.find_block(facility_id, resident_id, e164)
        if existing is not None:
            raise Conflict(f"{e164} is already blocked there (block {existing})",
                           code="block_exists", block=existing)
        try:
            privileged = privilege_at(uow.registry.entries_for(e164), now) is \
                Privilege.PRIVILEGED
        except RegistryUnavailable:
            privileged = False  # the block itself changes nothing about privilege
        uow.blocks.add(facility_id, resident_id, e164, reason, now)
        block_id = uow.records.find_block(facility_id, resident_id, e164)
        assert block_id is not None  # noqa: S101 - inserted just above
        audit.record(uow, actor, AuditAction.BLOCK_ADD,
                     f"facility:{facility_id}", now, block=block_id,
                     number=e164, resident=resident_id, reason=reason,
                     privileged_number=privileged)
        uow.commit()
    return BlockAdded(block_id, e164, PRIVILEGED_WARNING if privileged else None)


def called_party_block(uow_factory: UnitOfWorkFactory, actor: Actor, *, facility_id: str,
                       number: str, now: datetime) -> bool:
    """The called party pressed 6 at the voice menu: no more calls from this facility to
    ``number`` (a facility-wide block staff can remove like any other). Never for a
    verified privileged number, nor when privilege cannot be read: False, nothing
    written (the menu tells them how to register instead). An existing block is kept."""
    check_allowed(actor, Action.CALL_RECORD)
    with uow_factory() as uow:
        try:
            privileged = privilege_at(uow.registry.entries_for(number), now) is not \
                Privilege.NOT_PRIVILEGED
        except RegistryUnavailable:
            privileged = True
        if privileged:
            return False
        if uow.records.find_block(facility_id, None, number) is not None:
            return True
        uow.blocks.add(facility_id, None, number, "called party pressed 6", now)
        block_id = uow.records.find_block(facility_id, None, number)
        audit.record(uow, actor, AuditAction.BLOCK_ADD, f"facility:{facility_id}", now,
                     block=block_id, number=number, resident=None,
                     reason="called party pressed 6", by="called_party")
        uow.commit()
    return True
