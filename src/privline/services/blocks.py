"""Blocked numbers: contact rules a facility sets for all or one of its residents."""

from __future__ import annotations

from datetime import datetime

from privline.domain.access import Action
from privline.domain.errors import InvalidNumber
from privline.domain.model import Actor
from privline.domain.numbers import to_e164
from privline.domain.text import free_text
from privline.services import audit
from privline.services.access import check_allowed
from privline.services.errors import InvalidInput, NotFound, checked
from privline.services.facilities import get_facility
from privline.services.ports import UnitOfWorkFactory


def block_number(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    *,
    facility_id: str,
    number: str,
    reason: str,
    resident_id: str | None = None,
    now: datetime,
) -> str:
    """Block ``number`` at a facility (or for one resident). Returns the E.164 form.

    A block can refuse an ordinary call; it can never make a privileged call recorded
    (the policy checks privilege before blocks).
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
        uow.blocks.add(facility_id, resident_id, e164, reason, now)
        audit.record(uow, actor, "block.add", f"facility:{facility_id}", now,
                     number=e164, resident=resident_id, reason=reason)
        uow.commit()
    return e164
